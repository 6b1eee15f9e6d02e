// Global options shared by every subcommand.
export interface GlobalOptions {
  /** --config FILE, else $HOOKSHIM_CONFIG; undefined means /etc/hookshim/config.json then defaults */
  configPath?: string;
  /** --store NAME: pin directory under bpffs */
  store?: string;
  debug: boolean;
}

export type CommandMain = (args: string[], g: GlobalOptions) => Promise<number> | number;

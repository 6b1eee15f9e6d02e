// The systemd flavour of the VM: init.sh runs the script made here against the new root before it
// hands PID 1 to systemd. It installs a oneshot unit that runs /vmout/cmd.sh with its output on the
// serial console and powers the guest off when the command ends, whatever its status.
export function systemdUnitScript(): string {
  return `# Written by test/vm/systemd.ts. $1 is the new root.
set -e
root="$1"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
cat > "$root/etc/systemd/system/hookshim-vm.service" <<'UNIT'
[Unit]
Description=hookshim VM lane command
After=multi-user.target
Wants=multi-user.target

[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/bin/sh /vmout/cmd.sh
ExecStopPost=/bin/systemctl poweroff -f
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/hookshim-vm.service "$root/etc/systemd/system/multi-user.target.wants/hookshim-vm.service"
# Nothing on the console but the command's output, and no units that wait for hardware or network.
for u in getty@tty1.service serial-getty@ttyS0.service systemd-networkd-wait-online.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
`;
}

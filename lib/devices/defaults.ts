// The devices every runc container gets on top of its config (runc libcontainer/specconv
// AllowedDevices): mknod of anything, the standard character devices, ptys and tun.
import type { DeviceRule } from "./rule.ts";

const rwm = (major: number, minor: number | null): DeviceRule => ({ allow: true, type: "c", major, minor, access: "rwm" });

export const RUNC_ALLOWED_DEVICES: readonly DeviceRule[] = [
  { allow: true, type: "c", major: null, minor: null, access: "m" },
  { allow: true, type: "b", major: null, minor: null, access: "m" },
  rwm(1, 3), // /dev/null
  rwm(1, 8), // /dev/random
  rwm(1, 7), // /dev/full
  rwm(5, 0), // /dev/tty
  rwm(1, 5), // /dev/zero
  rwm(1, 9), // /dev/urandom
  rwm(136, null), // /dev/pts/*
  rwm(5, 2), // /dev/ptmx
  rwm(10, 200), // /dev/net/tun
];

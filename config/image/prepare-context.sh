#!/bin/sh
# Lays out a build context for config/image/Containerfile: BINARY as rootfs/opt/hookshim/hookshim,
# every shared library `ldd BINARY` names (and the dynamic loader) at its own path under rootfs/,
# copied with symlinks resolved, and an empty /tmp.
#   prepare-context.sh BINARY CONTEXT-DIR
set -eu
[ $# -eq 2 ] || { echo "usage: $0 BINARY CONTEXT-DIR" >&2; exit 2; }
bin=$1 ctx=$2
[ -x "$bin" ] || { echo "$0: $bin: not an executable" >&2; exit 2; }
rootfs=$ctx/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/opt/hookshim" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$bin" "$rootfs/opt/hookshim/hookshim"
chmod 0755 "$rootfs/opt/hookshim/hookshim"
# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
echo "$rootfs"

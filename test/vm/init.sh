#!/bin/busybox sh
# PID 1 of the test VM's initramfs (busybox). It mounts the host's root read-only over 9p, lays a
# tmpfs overlay on it so the guest may write anywhere, mounts a pure cgroup v2 hierarchy, and runs
# /vmout/cmd.sh (a second, writable 9p share) in that root. With hookshim.init=systemd it hands
# the root to systemd as PID 1 instead, which runs the same command as a oneshot unit.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "vm-init: $*" > /dev/ttyS0; }
fail() { say "$*"; echo 125 > /vmout/rc 2>/dev/null || echo 125 > /newroot/vmout/rc; sync; poweroff -f; }

# Modules in dependency order (the list is written by the harness, one file name a line).
while read -r m; do
  [ -n "$m" ] && { insmod "/modules/$m" 2>/tmp/insmod.err || say "insmod $m: $(cat /tmp/insmod.err)"; }
done < /modules/order

mkdir -p /lower /rw /newroot /vmout
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower || fail "cannot mount the host root"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vmout /vmout || fail "cannot mount vmout"
mount -t tmpfs -o mode=0755,size=75% tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "cannot mount the overlay"

# What the guest must see fresh rather than the host's copies read over 9p.
for d in proc sys dev tmp run dev/shm var/lib/containers var/lib/containerd var/lib/docker vmout; do mkdir -p "/newroot/$d"; done
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
# What udev or systemd would add to /dev on a real host (a script runtime exec'd through a file
# descriptor is opened by its interpreter as /dev/fd/N).
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
for d in tmp run dev/shm var/lib/containers var/lib/containerd var/lib/docker; do mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d"; done
chmod 0755 /newroot/run /newroot/var/lib/containers /newroot/var/lib/containerd /newroot/var/lib/docker
mount --move /vmout /newroot/vmout
# The kernel's own modules, so modprobe works inside the guest.
kver=$(uname -r)
if [ -d "/newroot$(cat /modules/tree)" ]; then
  mkdir -p "/newroot/lib/modules/$kver"
  mount --bind "/newroot$(cat /modules/tree)" "/newroot/lib/modules/$kver"
fi
ip link set lo up 2>/dev/null
hostname hookshim-vm

if grep -q 'hookshim.init=systemd' /proc/cmdline; then
  # systemd mounts cgroup2, bpffs and tracefs itself; the unit runs the command and powers off.
  sh /newroot/vmout/systemd-unit.sh /newroot || fail "cannot prepare the systemd unit"
  umount /proc /sys 2>/dev/null
  umount /dev 2>/dev/null
  exec switch_root /newroot /lib/systemd/systemd --log-target=console systemd.unit=multi-user.target
fi

mount -t cgroup2 -o nsdelegate cgroup2 /newroot/sys/fs/cgroup || fail "cannot mount cgroup2"
mount -t bpf -o mode=0700 bpf /newroot/sys/fs/bpf
mount -t tracefs tracefs /newroot/sys/kernel/tracing
mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null
# cmd.sh writes its own exit status to /vmout/rc.
chroot /newroot /bin/sh /vmout/cmd.sh > /dev/ttyS0 2>&1 < /dev/null
sync
poweroff -f

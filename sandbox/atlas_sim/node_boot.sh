#!/bin/sh
# atlas-sim-node-boot: runs as PID 1 of a fresh pid namespace, inside the node's own mount,
# uts, ipc and cgroup namespaces, and turns the overlay of the shared rootfs into a booted host.
# Arguments: HOST_DIR ROOTFS HOSTNAME MIRROR
set -eu
host_dir=$1 rootfs=$2 name=$3 mirror=$4
root=$host_dir/merged

mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$host_dir/upper,workdir=$host_dir/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
# dockerd wants its data on a real filesystem to use overlay2 (on an overlay it falls back to vfs).
mkdir -p "$root/var/lib/docker" "$root/srv/atlas-mirror"
mount --bind "$host_dir/docker" "$root/var/lib/docker"
mount --bind "$mirror" "$root/srv/atlas-mirror"
mount -o remount,bind,ro "$root/srv/atlas-mirror"

mount -t tmpfs -o mode=755,size=64m tmpfs "$root/dev"
for dev in null zero full random urandom tty; do
    touch "$root/dev/$dev"
    mount --bind "/dev/$dev" "$root/dev/$dev"
done
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
touch "$root/dev/console"
mount --bind /dev/null "$root/dev/console"
# NPU character devices of the simulated driver, listed by atlas-sim per hardware profile.
if [ -f "$host_dir/devices" ]; then
    while read -r path major minor; do
        mknod -m 0666 "$root$path" c "$major" "$minor"
    done < "$host_dir/devices"
fi

hostname "$name"
# pivot_root, not chroot: the node's mount namespace must have the overlay as its real root, so that
# anything joining it later (runc exec, nsenter -m) lands inside the node and never on the machine's /.
mkdir "$root/run/.oldroot"
cd "$root"
pivot_root . run/.oldroot
cd /
umount -l /run/.oldroot
rmdir /run/.oldroot
exec env -i container=atlas-sim PATH=/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd

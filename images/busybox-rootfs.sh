#!/bin/sh
# Builds a tiny busybox root filesystem (Debian's busybox-static, unpacked with dpkg -x so it does
# not conflict with an installed busybox) for tests and the demo, then prints how to import it.
# Usage: images/busybox-rootfs.sh DIR
set -eu
dir=${1:?usage: $0 DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download busybox-static >/dev/null)
dpkg -x "$work"/busybox-static_*.deb "$work/x"
mkdir -p "$dir"
for d in bin sbin etc proc sys dev run tmp root boot usr/bin usr/sbin var/log; do mkdir -p "$dir/$d"; done
chmod 1777 "$dir/tmp"
cp "$work/x/bin/busybox" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ "$applet" = busybox ] || [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
ln -sf /bin/busybox "$dir/sbin/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
printf 'root:x:0:\n' > "$dir/etc/group"
printf 'wulf-busybox\n' > "$dir/etc/hostname"
echo "busybox rootfs in $dir; import it with: wulf image import $dir busybox"

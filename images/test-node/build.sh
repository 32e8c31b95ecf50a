#!/bin/sh
# Builds the tiny test-node root filesystem for the end-to-end boot test: busybox-static, the
# Debian kernel (in /boot, so wulf detects it; left out of the image by /etc/wulf/excludes), its
# NIC modules, and an /sbin/init that sets the node's address from the network files wulf's
# ifupdown overlay wrote (DHCP when there are none) and prints
#   WULF-NODE-UP <hostname from /etc/hostname, written by wulf's overlay> <ip>
# on the serial console, then powers off.   usage: build.sh OUTDIR [CACHEDIR]
set -eu
out=$1
cache=${2:-/var/tmp/wulf-e2e-cache}
mkdir -p "$cache"
for t in modinfo dpkg-deb apt-get; do command -v "$t" >/dev/null || { echo "build.sh: $t missing (apt-get install kmod dpkg apt)" >&2; exit 1; }; done
bb="$cache/busybox/bin/busybox"
if [ ! -x "$bb" ]; then
  (cd "$cache" && apt-get download busybox-static >/dev/null 2>&1) || { echo "build.sh: apt-get download busybox-static failed" >&2; exit 1; }
  dpkg-deb -x "$cache"/busybox-static_*.deb "$cache/busybox"
fi
kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
[ -n "$kernel" ] || { echo "build.sh: no /boot/vmlinuz-* (apt-get install linux-image-amd64)" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}
rm -rf "$out"
mkdir -p "$out"/bin "$out"/sbin "$out"/etc/wulf "$out"/boot "$out"/proc "$out"/sys "$out"/dev "$out"/run "$out"/tmp "$out"/lib/modules "$out"/root
cp "$bb" "$out/bin/busybox"
for a in $("$out/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$out/bin/$a"; done
for a in init poweroff reboot halt ip ifconfig udhcpc insmod mount switch_root; do ln -sf ../bin/busybox "$out/sbin/$a"; done
cp "$kernel" "$out/boot/"
for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_net e1000; do
  f=$(modinfo -k "$kver" -n "$m" 2>/dev/null) || continue
  case "$f" in
    *.ko) cp "$f" "$out/lib/modules/$m.ko" ;;
    *.ko.xz) xz -dc "$f" > "$out/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dqc "$f" > "$out/lib/modules/$m.ko" ;;
    *.ko.gz) gzip -dc "$f" > "$out/lib/modules/$m.ko" ;;
  esac
done
printf '/boot/*\n' > "$out/etc/wulf/excludes"
echo "root:x:0:0:root:/root:/bin/sh" > "$out/etc/passwd"
echo "root:x:0:" > "$out/etc/group"
cat > "$out/etc/udhcpc.script" <<'S'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"; [ -n "${router:-}" ] && ip route add default via "${router%% *}" 2>/dev/null; echo "$ip" > /run/ip ;;
esac
exit 0
S
chmod 755 "$out/etc/udhcpc.script"
rm -f "$out/sbin/init"
cat > "$out/sbin/init" <<'S'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc 2>/dev/null; mount -t sysfs sys /sys 2>/dev/null; mount -t devtmpfs dev /dev 2>/dev/null; mkdir -p /run
for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_net e1000; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
host=$(cat /etc/hostname 2>/dev/null)
echo "WULF-NODE-INIT host=$host uptime=$(cut -d" " -f1 /proc/uptime)"
sleep 1
IF=
for n in /sys/class/net/*; do n=${n##*/}; [ "$n" = lo ] || { IF=$n; break; }; done
ip link set lo up
# the network as wulf's ifupdown overlay wrote it (/etc/network/interfaces.d/wulf-<netdev>); busybox
# ifup cannot read it (it wants a netmask line, the overlay writes address/prefix), so this reads the
# static stanzas itself. Without such a file: DHCP.
cfg=
for f in /etc/network/interfaces.d/wulf-*; do
  [ -f "$f" ] || continue
  dev=$(sed -n 's/^iface \([^ ]*\) inet static.*/\1/p' "$f" | head -n1)
  addr=$(sed -n 's/^ *address \([0-9.]*\/[0-9]*\).*/\1/p' "$f" | head -n1)
  gw=$(sed -n 's/^ *gateway \([0-9.]*\).*/\1/p' "$f" | head -n1)
  [ -n "$dev" ] && [ -n "$addr" ] && [ -e "/sys/class/net/$dev" ] || continue
  ip link set "$dev" up && ip addr add "$addr" dev "$dev" || continue
  [ -n "$gw" ] && ip route add default via "$gw" 2>/dev/null
  IF=$dev cfg=$f
  echo "WULF-NODE-NETCFG $dev $addr from $f"
done
if [ -z "$cfg" ]; then
  ip link set "$IF" up
  udhcpc -i "$IF" -f -q -t 10 -T 2 -n -s /etc/udhcpc.script >/dev/null 2>&1
fi
# the address as the interface has it (not what the lease script was told)
ip4=$(ip -4 -o addr show dev "$IF" 2>/dev/null | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' | head -n1)
echo "WULF-NODE-UP $host $ip4"
echo "WULF-NODE-NET uptime=$(cut -d" " -f1 /proc/uptime)"
[ -f /etc/hosts ] && grep -q "$host" /etc/hosts && echo "WULF-NODE-HOSTS ok"
# wulf.hold=SECONDS on the kernel line: stay up, report the users the runtime overlay brings
hold=$(sed -n 's/.*wulf\.hold=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$hold" ]; then
  last=
  i=0
  while [ "$i" -lt "$hold" ]; do
    users=$(cut -d: -f1 /etc/passwd | tr '\n' ',')
    [ "$users" != "$last" ] && echo "WULF-USERS $users" && last=$users
    [ $((i % 5)) -eq 0 ] && echo "WULF-ALIVE $i"
    [ $((i % 10)) -eq 1 ] && [ -f /var/log/wulf-agent.log ] && tail -n 2 /var/log/wulf-agent.log | sed 's/^/WULF-AGENT-LOG /'
    sleep 1
    i=$((i + 1))
  done
fi
sleep 1
poweroff -f
S
chmod 755 "$out/sbin/init"
echo "test-node rootfs in $out (kernel $kver)"

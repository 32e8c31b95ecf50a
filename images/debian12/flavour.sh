# Debian 12 network flavours (sourced by build.sh; POSIX sh): the base plus exactly one network
# stack, which reads the files wulf's overlay of the same name writes at boot.
#   networkd        systemd-networkd (/etc/systemd/network, systemd.networkd overlay)
#   networkmanager  NetworkManager (/etc/NetworkManager/system-connections, NetworkManager overlay)
#   ifupdown        ifupdown (/etc/network/interfaces.d, ifupdown overlay)
#   build_flavour DIR FLAVOUR    (DIR: a copy of the base)

FLAVOURS="networkd networkmanager ifupdown"
# in every flavour: sfdisk (Debian 12 ships it in fdisk, not util-linux), which the ignition overlay
# partitions local disks with (wipefs, blkid, mkfs.ext4 and mkswap are in the base already). Installed
# here rather than in the base so that the debootstrap base, the slow step, stays as it was.
FLAVOUR_COMMON_PACKAGES="fdisk"

flavour_packages() {
    case "$1" in
        networkd) echo "" ;;   # systemd-networkd is part of Debian 12's systemd package
        networkmanager) echo "network-manager" ;;
        ifupdown) echo "ifupdown" ;;
        *) return 1 ;;
    esac
}

build_flavour() {
    dir=$1 flavour=$2
    pkgs=$(flavour_packages "$flavour") || { echo "recipe: unknown flavour \"$flavour\" (one of: $FLAVOURS)" >&2; return 1; }
    pkgs="$FLAVOUR_COMMON_PACKAGES${pkgs:+ $pkgs}"
    if [ -n "$pkgs" ]; then
        echo "recipe: $flavour: apt-get install $pkgs"
        rm -f "$dir/etc/resolv.conf"; cp -L /etc/resolv.conf "$dir/etc/resolv.conf"   # only while apt runs
        { in_root "$dir" apt-get update -qq && in_root "$dir" apt-get install -y -qq --no-install-recommends $pkgs; } \
            > "$dir.apt.log" 2>&1 || { tail -n 20 "$dir.apt.log" >&2; echo "recipe: apt-get in the image failed" >&2; return 1; }
        rm -f "$dir.apt.log"
        rm -f "$dir/etc/resolv.conf"; : > "$dir/etc/resolv.conf"   # wulf's resolv overlay writes it
    fi
    case "$flavour" in
        networkd)
            in_root "$dir" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service >/dev/null 2>&1 || return 1 ;;
        networkmanager)
            in_root "$dir" systemctl enable NetworkManager.service NetworkManager-wait-online.service >/dev/null 2>&1 || return 1 ;;
        ifupdown)
            # ifupdown reads the overlay's stanzas through this source line
            printf '# written by wulf'"'"'s Debian 12 recipe; the ifupdown overlay writes interfaces.d/\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' \
                > "$dir/etc/network/interfaces"
            in_root "$dir" systemctl enable networking.service >/dev/null 2>&1 || return 1 ;;
    esac
    printf 'debian12-%s\n' "$flavour" > "$dir/etc/wulf/recipe"
    trim_tree "$dir"
}

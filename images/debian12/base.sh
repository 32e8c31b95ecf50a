# Debian 12 node base (sourced by build.sh; POSIX sh): everything every flavour shares — systemd
# and udev, the Debian kernel (in /boot, where wulf finds it; left out of the boot image by
# /etc/wulf/excludes), sshd, the NFS client, ping, and what wulf's /init (wwinit) and wulf-agent
# run: sh, curl, gzip, cpio, find, cmp, stat, mktemp. No network stack: the flavours add exactly one.
#   build_base DIR    (DIR must not exist)

BASE_PACKAGES=systemd,systemd-sysv,udev,dbus,kmod,procps,iproute2,iputils-ping,linux-image-amd64,openssh-server,nfs-common,curl,cpio,gzip,zstd,less

build_base() {
    dir=$1
    mirror=$(debian_mirror) || return 1
    echo "recipe: debootstrap bookworm from $mirror"
    # INITRD=No: the kernel's postinst makes no initrd of its own (wulf's image is the initramfs)
    INITRD=No debootstrap --variant=minbase --components=main --include="$BASE_PACKAGES" \
        bookworm "$dir" "$mirror" > "$dir.debootstrap.log" 2>&1 ||
        { tail -n 20 "$dir.debootstrap.log" >&2; echo "recipe: debootstrap failed (log: $dir.debootstrap.log)" >&2; return 1; }
    rm -f "$dir.debootstrap.log"

    # packages installed later (flavours) leave no docs or man pages behind
    cat > "$dir/etc/dpkg/dpkg.cfg.d/01-wulf-node" <<'EOF'
# written by wulf's Debian 12 recipe: a stateless node needs no documentation
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
EOF

    # kernel modules a compute node never loads (sound, GPU, cameras, Wi-Fi); the rest stays
    for kdir in "$dir"/lib/modules/*; do
        [ -d "$kdir/kernel" ] || continue
        rm -rf "$kdir/kernel/sound" "$kdir/kernel/drivers/gpu" "$kdir/kernel/drivers/media" \
            "$kdir/kernel/drivers/net/wireless" "$kdir/kernel/drivers/staging" "$kdir/kernel/drivers/bluetooth" \
            "$kdir/kernel/drivers/iio" "$kdir/kernel/drivers/comedi" "$kdir/kernel/drivers/isdn" \
            "$kdir/kernel/net/wireless" "$kdir/kernel/net/mac80211" "$kdir/kernel/net/bluetooth"
        in_root "$dir" depmod -a "${kdir##*/}" || return 1
    done
    rm -f "$dir"/boot/initrd.img-*

    # the boot image needs no kernel of its own: wulf sends /boot's kernel separately
    mkdir -p "$dir/etc/wulf"
    printf '# written by the Debian 12 recipe: wulf sends the kernel itself\n/boot/\n' > "$dir/etc/wulf/excludes"

    # every node is a new machine: systemd makes a machine id at boot; host keys come from wulf's
    # ssh.host_keys overlay (a node without them makes its own at each boot instead of sharing the image's)
    : > "$dir/etc/machine-id"
    rm -f "$dir/var/lib/dbus/machine-id" "$dir"/etc/ssh/ssh_host_*
    mkdir -p "$dir/etc/systemd/system/ssh.service.d"
    cat > "$dir/etc/systemd/system/ssh.service.d/wulf-host-keys.conf" <<'EOF'
# written by wulf's Debian 12 recipe: host keys normally come from the ssh.host_keys overlay;
# make the missing ones so sshd still starts on a node without them
[Service]
ExecStartPre=/usr/bin/ssh-keygen -A
EOF
    # a serial console for `wulf node console` and the login prompt on ttyS0
    in_root "$dir" systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || return 1
    # a node's software changes in the image, not on the node: no apt runs on it
    in_root "$dir" systemctl disable apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || return 1
    printf 'wulf-node\n' > "$dir/etc/hostname"
    printf 'LANG=C.UTF-8\n' > "$dir/etc/default/locale"
    rm -f "$dir/etc/resolv.conf"; : > "$dir/etc/resolv.conf"   # the build host's; wulf's resolv overlay writes it
    printf '# the root is a RAM filesystem; wulf'"'"'s fstab overlay writes this file\n' > "$dir/etc/fstab"
    # the image keeps its apt sources so a site can `wulf image shell` and apt-get install more
    trim_tree "$dir"
}

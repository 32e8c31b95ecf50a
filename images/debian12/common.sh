# Helpers shared by the Debian 12 recipe steps (sourced; POSIX sh). Part of every cache key.

# The Debian archive to bootstrap from: WULF_DEBIAN_MIRROR, else the first bookworm archive apt on
# this machine is configured with (so the recipe never names a host of its own).
debian_mirror() {
    if [ -n "${WULF_DEBIAN_MIRROR:-}" ]; then echo "$WULF_DEBIAN_MIRROR"; return; fi
    m=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null |
        awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
    if [ -z "$m" ]; then
        m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -e security -e updates | head -n1)
    fi
    [ -n "$m" ] || { echo "recipe: no Debian bookworm archive in the apt configuration; set WULF_DEBIAN_MIRROR" >&2; return 1; }
    echo "${m%/}"
}

# Run a command inside the tree DIR: its own mount namespace (so /proc and /dev/pts vanish with it,
# even when killed), no services started (policy-rc.d), no questions.
in_root() {
    dir=$1; shift
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    unshare --mount --propagation private -- sh -c '
        d=$1; shift
        mount -t proc proc "$d/proc" && mount -t devpts -o newinstance devpts "$d/dev/pts" 2>/dev/null
        exec chroot "$d" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive INITRD=No LANG=C.UTF-8 "$@"
    ' in_root "$dir" "$@"
    rc=$?
    rm -f "$dir/usr/sbin/policy-rc.d"
    return $rc
}

# What a node image never needs: apt's lists and caches, docs, man pages, logs.
trim_tree() {
    dir=$1
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
        "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
        "$dir"/usr/share/lintian "$dir"/usr/share/linda "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/* "$dir"/root/.bash_history
    find "$dir/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null
    find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -type d ! -name 'en*' -exec rm -rf {} + 2>/dev/null
    return 0
}

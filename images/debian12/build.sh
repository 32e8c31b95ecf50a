#!/bin/sh
# Builds a Debian 12 (bookworm) node root filesystem from Debian's archive with debootstrap, for
# `wulf image import DIR NAME`. Flavours differ only in their network stack: networkd,
# networkmanager, ifupdown (see flavour.sh). The common base is built once and each flavour is a
# copy of it with its stack installed.
#
# Trees are cached outside the checkout, keyed by the content of the recipe files that make them:
#   $WULF_IMAGE_CACHE (default /var/cache/wulf-images)/debian12-base-<key>/
#   $WULF_IMAGE_CACHE/debian12-<flavour>-<key>/
# A tree is built under a temporary name and renamed into place when complete, so a killed or
# failed build never counts as cached; older trees of the same name are removed.
# The archive: WULF_DEBIAN_MIRROR, else the bookworm archive apt on this machine uses.
#
# usage: images/debian12/build.sh FLAVOUR    (as root; the tree's path is the last line printed)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/base.sh"
. "$here/flavour.sh"

die() { echo "debian12: $*" >&2; exit 1; }
flavour=${1:-}
case " $FLAVOURS " in *" $flavour "*) [ -n "$flavour" ] ;; *) false ;; esac ||
    die "usage: $0 FLAVOUR (one of: $FLAVOURS)"
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
for t in debootstrap unshare chroot flock sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing (apt-get install debootstrap util-linux coreutils)"
done

cache=${WULF_IMAGE_CACHE:-/var/cache/wulf-images}
mkdir -p "$cache"
key() { (cd "$here" && cat "$@") | sha256sum | cut -c1-16; }
base_key=$(key common.sh base.sh)
flavour_key=$( (cd "$here" && cat common.sh base.sh flavour.sh && echo "$flavour") | sha256sum | cut -c1-16)

# one build at a time per cache (two flavours share the base)
exec 9>"$cache/.debian12.lock"
flock 9

# remove a tree, never what is mounted inside it (a killed debootstrap can leave its /proc and /sys mounted)
remove_tree() {
    for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
    rm -rf --one-file-system "$1"
}

tmp=
# a failed build's tree goes; its log stays (named in the error) until the next build of that tree
trap 'if [ -n "$tmp" ]; then remove_tree "$tmp"; fi' EXIT
trap 'exit 130' INT TERM

# ensure NAME KEY STEP ARGS...: the cached tree NAME-KEY, built by "STEP TMPDIR ARGS..." when missing
ensure() {
    name=$1 k=$2 step=$3; shift 3
    final="$cache/$name-$k"
    [ -d "$final" ] && return 0
    for stale in "$cache/.tmp-$name-"*; do   # left by a build that was killed (we hold the lock)
        [ -e "$stale" ] || continue
        if [ -d "$stale" ]; then remove_tree "$stale"; else rm -f "$stale"; fi
    done
    tmp="$cache/.tmp-$name-$k-$$"
    t0=$(date +%s)
    echo "debian12: building $name (key $k) in $tmp" >&2
    "$step" "$tmp" "$@" >&2 || die "building $name failed"
    mv "$tmp" "$final"
    tmp=
    echo "debian12: $name built in $(( $(date +%s) - t0 )) s: $final ($(du -sm "$final" | cut -f1) MB)" >&2
    for old in "$cache/$name"-*; do
        [ "$old" = "$final" ] || case "${old#"$cache/$name"-}" in *[!0-9a-f]*) ;; *) remove_tree "$old" ;; esac
    done
}

copy_base() { cp -a "$cache/debian12-base-$base_key" "$1" && build_flavour "$1" "$2"; }

ensure debian12-base "$base_key" build_base
ensure "debian12-$flavour" "$flavour_key" copy_base "$flavour"
echo "$cache/debian12-$flavour-$flavour_key"

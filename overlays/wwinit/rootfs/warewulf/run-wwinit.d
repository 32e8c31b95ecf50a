#!/bin/sh
# Runs the pre-root scripts /warewulf/wwinit.d/* in lexical order (partitioning, mkfs, ...).
. /warewulf/config 2>/dev/null
rc=0
for s in /warewulf/wwinit.d/*; do
    [ -f "$s" ] || continue
    echo "wulf: wwinit.d: $s"
    case "$s" in *.sh) sh "$s" ;; *) [ -x "$s" ] && "$s" ;; esac || { echo "wulf: $s failed"; rc=1; }
done
exit $rc

#!/usr/bin/env bash
# Builds a minimal busybox root file system in DIR from Debian's busybox-static.
set -euo pipefail
dir=${1:?usage: mkbusybox.sh DIR}
mkdir -p "$dir"/{bin,etc,tmp,proc,sys,dev,root}
cp /bin/busybox "$dir/bin/busybox"
for app in $("$dir/bin/busybox" --list); do
  [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
chmod 1777 "$dir/tmp"

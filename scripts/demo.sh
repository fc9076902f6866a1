#!/usr/bin/env bash
# The demo, on a fresh machine: installs what it needs, builds ministry, makes a busybox
# image from Debian's static busybox, imports it and shows it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run the demo as root" >&2; exit 1; }
scripts/install-deps.sh
cargo build --release -p ministry --quiet
M="target/release/ministry --root $PWD/.demo/root"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
scripts/mkbusybox.sh "$rootfs"
echo '$ tar -C rootfs -c . | ministry import - busybox:latest'
tar -C "$rootfs" -c . | $M import - busybox:latest
echo '$ ministry images'
$M images
echo '$ ministry image inspect busybox --format {{.RootFS.Type}}'
$M image inspect busybox

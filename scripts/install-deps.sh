#!/usr/bin/env bash
# Installs the Debian packages ministry's demo and tests need. Idempotent; needs root.
set -euo pipefail
pkgs=(busybox-static docker-registry docker.io skopeo umoci runc nftables libseccomp-dev pkg-config apache2-utils openssl tini docker-compose python3-docker)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

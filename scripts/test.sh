#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then formatting, clippy and every
# test of the workspace. Root tests run (and must pass) when run as root; with CI=true a
# test that cannot run fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  scripts/install-deps.sh
elif [ "${CI:-}" = true ]; then
  echo "CI=true requires running as root" >&2
  exit 1
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The library alone: it builds without the CLI's dependencies, and pulls none of them.
cargo check -p ministry --no-default-features --quiet
if cargo tree -p ministry --no-default-features -e normal | grep -E ' (clap|anyhow|indicatif) v'; then
  echo "the ministry library (no default features) depends on a CLI crate" >&2
  exit 1
fi
cargo test --workspace --quiet

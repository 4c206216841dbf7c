#!/usr/bin/env bash
# Installs the system packages the tests need, from Debian.
#
# Quiet and idempotent: prints nothing and exits 0 when every command below is
# already on the PATH. Otherwise, as root, runs `apt-get update` once and
# installs the missing packages; as any other user, prints the one command to
# run and exits 1.
#
# Usage: bash scripts/setup-system.sh
set -euo pipefail

# Debian package   command it provides   (one pair per line)
PACKAGES='
chromium           chromium
redis-server       redis-server
redis-tools        redis-benchmark
nats-server        nats-server
openssl            openssl
prometheus         promtool
'

missing=()
while read -r package command; do
  [ -z "${package:-}" ] && continue
  if ! command -v "$command" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done <<<"$PACKAGES"

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "Installing system packages: ${missing[*]}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "apt-get failed to install: ${missing[*]}" >&2
  exit 1
fi

still_missing=()
while read -r package command; do
  [ -z "${package:-}" ] && continue
  command -v "$command" >/dev/null 2>&1 || still_missing+=("$package ($command)")
done <<<"$PACKAGES"
if [ "${#still_missing[@]}" -ne 0 ]; then
  echo "Installed, but these commands are still missing: ${still_missing[*]}" >&2
  exit 1
fi

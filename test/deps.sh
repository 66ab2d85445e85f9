#!/bin/bash
# Install what pg_loyalty needs to build, test and demo on Debian 12, if missing.
set -euo pipefail

PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron
          postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
          build-essential rsync)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "pg_loyalty: missing packages: ${missing[*]}" >&2
    echo "pg_loyalty: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "pg_loyalty: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

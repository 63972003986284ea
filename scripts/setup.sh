#!/usr/bin/env bash
# Installs what the KMS needs on a Debian machine like the CI one: system packages, npm
# dependencies (with native modules such as pkcs11js built), and checks the local services.
# Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(softhsm2 opensc librdkafka-dev kcat python3 make g++ docker-compose)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# npm dependencies. `npm ci` refuses this lockfile on npm 11 (optional per-platform entries of
# @swc/core and friends are not recorded), so install from the lockfile with `npm install`.
# allowScripts in package.json lets pkcs11js build its native module.
stamp=node_modules/.kms-install-stamp
want=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  node -e "require('pkcs11js')" || { echo "setup: pkcs11js native module failed to build" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# Local services the KMS and its tests use.
check_port() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
if ! check_port 127.0.0.1 5432; then
  echo "setup: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  exit 1
fi
if ! check_port 127.0.0.1 6379; then
  echo "setup: Redis is not reachable on 127.0.0.1:6379" >&2
  exit 1
fi

#!/usr/bin/env bash
# Installs what the KMS needs on a Debian machine like the CI one: system packages, npm
# dependencies (with native modules such as pkcs11js built), the Apache Kafka broker jars the tests
# run (from Maven Central, tools/kafka), and checks the local services.
# Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# kcat reads topics as partners do; Java 17 and Maven run and fetch the Kafka broker (tools/kafka).
# oathtool computes TOTP codes in tests independently of the service's otplib; chromium runs the
# console's browser tests (apps/key-service/src/console-browser.e2e-spec.ts, through playwright-core).
# python3-pykmip is the independent KMIP client of the KMIP interoperability tests; poppler-utils
# (pdftotext) reads the per-HSM attestation PDFs back.
APT_PACKAGES=(softhsm2 opensc kcat openjdk-17-jre-headless maven python3 make g++ docker-compose oathtool chromium python3-pykmip poppler-utils python3-cryptography-vectors)

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

# npm dependencies, installed from the lockfile without ever writing it. `npm ci` would wipe
# node_modules on every dependency change (and npm 11 refuses a lockfile missing optional
# per-platform entries); a plain `npm install` resolves from the lockfile but then rewrites it
# (adding those entries), which dirtied fresh clones. `--no-save` keeps the locked resolution and
# skips writing package.json and package-lock.json; the hash check below proves it.
# allowScripts in package.json lets pkcs11js build its native module.
stamp=node_modules/.kms-install-stamp
want=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies"
  lock_before=$(sha256sum package-lock.json)
  npm install --no-save --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  if [ "$(sha256sum package-lock.json)" != "$lock_before" ]; then
    echo "setup: npm rewrote package-lock.json; it must stay as committed (git diff package-lock.json)" >&2
    exit 1
  fi
  node -e "require('pkcs11js')" || { echo "setup: pkcs11js native module failed to build" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# The console (apps/console) built into dist/console, which the key service serves at /console/;
# rebuilt only when its sources or the dependencies changed (a second or two with Vite).
console_want=$( (find apps/console -type f -not -name '*.spec.ts' | LC_ALL=C sort | xargs sha256sum; sha256sum package-lock.json) | sha256sum | cut -c1-64)
if [ ! -f dist/console/index.html ] || [ "$(cat dist/console/.build-stamp 2>/dev/null)" != "$console_want" ]; then
  echo "setup: building the console (npm run build:console)"
  npx --no-install vite build --config apps/console/vite.config.mts --logLevel warn
  echo "$console_want" > dist/console/.build-stamp
fi

# The Kafka broker jars (org.apache.kafka:kafka_2.13 and its runtime dependencies) into
# .kms-state/kafka/lib-<version>/; skipped when already there, and ~/.m2 keeps the downloads.
bash tools/kafka/kafka.sh fetch >/dev/null

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

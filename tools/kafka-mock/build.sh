#!/usr/bin/env bash
# Builds the Kafka test broker (kafka-mock.c on librdkafka's mock cluster) with gcc.
#   bash tools/kafka-mock/build.sh [output-path]     default: .kms-state/bin/kafka-mock
# Idempotent: rebuilds only when the source is newer than the binary. Needs librdkafka-dev.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/.kms-state/bin/kafka-mock}"
src="$here/kafka-mock.c"
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
  echo "$out"
  exit 0
fi
if [ ! -f /usr/include/librdkafka/rdkafka_mock.h ]; then
  echo "kafka-mock: librdkafka-dev is missing (apt-get install librdkafka-dev)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
# Build to a temporary name and rename, so a concurrent test never runs a half-written binary.
tmp="$(mktemp "$(dirname "$out")/.kafka-mock.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
gcc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -o "$tmp" "$src" -lrdkafka
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "$out"

#!/usr/bin/env bash
# Nightly backup of the KMS: scripts/backup.sh --key-id ID --target DIR [--target DIR]... [--config FILE]... [--include-master-key]
# (docs/backup-and-drills.md). Needs KMS_TOKEN (the backup workload) and the KMS's own configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/backup.ts "$@"

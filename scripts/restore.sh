#!/usr/bin/env bash
# Restore a backup into an empty staging database: scripts/restore.sh <backup dir> --database URL --attestation-pem FILE
# (docs/backup-and-drills.md). Verifies the manifest signature and every hash first. Needs KMS_TOKEN (the backup workload).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/restore.ts "$@"

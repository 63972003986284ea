#!/usr/bin/env bash
# The restore drill: scripts/restore.sh <backup dir> --database URL --attestation-pem FILE (--jwks FILE... | --jwks-url URL) [--rpt-window N]
#   [--record-drill --participants NAME... [--follow-up OWNER:ACTION]...]  (KMS_DRILL_TOKEN: a participant's token)
# (docs/backup-and-drills.md). Verifies the manifest signature and every hash first, restores into an empty staging
# database, re-runs the migrations, replays the event store, checks the ledger and the RPT chains, prints the drill report.
# Needs KMS_TOKEN (the backup workload) and the KMS's configuration (master key or HSM). Exit 0 passed, 2 a check failed, 1 refused.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/restore.ts "$@"

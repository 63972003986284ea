#!/usr/bin/env bash
# Starts the whole KMS in one process on the local PostgreSQL and Redis: installs what is
# missing, creates the state folder and database, applies migrations, then serves gRPC on
# KMS_GRPC_ADDRESS (127.0.0.1:50051) and HTTP on KMS_HTTP_ADDRESS (127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KMS_STANDALONE=1
# exec, so the KMS replaces this shell: `npm start` runs `exec bash scripts/standalone.sh`, npm
# forwards SIGTERM/SIGINT to its one child, and that child is the KMS itself (no shell in between
# that would die and leave the KMS orphaned with its ports taken).
exec node --import tsx apps/standalone/src/main.ts

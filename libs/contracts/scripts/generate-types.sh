#!/usr/bin/env bash
# Regenerates the TypeScript types of the gRPC contract (libs/contracts/src/generated) from the proto
# with @grpc/proto-loader's generator, using the same loader options the server and clients use.
# A unit test (generated-types.spec.ts) fails when the committed files differ from a fresh run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-src/generated}
rm -rf "$out"
npx --no-install proto-loader-gen-types --keepCase --longs=String --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js --inputTemplate=%s --outputTemplate=%s__Output \
  -I src/proto -O "$out" kms/v1/key_management_service.proto >/dev/null
# One entry point for the message types.
( cd "$out/kms/v1" && for f in *.ts; do echo "export * from './${f%.ts}';"; done ) > "$out/kms/v1/index.ts"

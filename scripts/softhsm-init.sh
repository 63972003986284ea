#!/usr/bin/env bash
# Sets up (once) the SoftHSM2 token the KMS uses in standalone mode, under <stateDir>/hsm:
# softhsm2.conf, a private tokens folder, random user and SO PIN files (0600), and a token
# labelled "kms". Safe to run again. Prints the variables to export, so:
#   eval "$(bash scripts/softhsm-init.sh [stateDir])"
# stateDir defaults to $KMS_STATE_DIR or ./.kms-state. The work is done by ensureSoftHsmToken
# (libs/key-backend-pkcs11), the same function the standalone service runs on first start.
set -euo pipefail
state_dir="$(realpath -m "${1:-${KMS_STATE_DIR:-.kms-state}}")"
cd "$(dirname "$0")/.."
paths="$(node --import tsx -e '
require("./libs/key-backend-pkcs11/src/softhsm-token.ts")
  .ensureSoftHsmToken(process.argv[1])
  .then((token) => {
    process.stderr.write(`${token.created ? "initialised" : "found"} SoftHSM2 token "${token.label}" in ${token.tokenDir}\n`);
    process.stdout.write(`${token.confPath}\n${token.userPinFile}\n`);
  })
  .catch((e) => {
    process.stderr.write(`softhsm-init: ${e.message}\n`);
    process.exit(1);
  });
' "$state_dir")"
{ read -r conf; read -r pin_file; } <<<"$paths"
printf 'export SOFTHSM2_CONF=%q\nexport KMS_HSM_PIN_FILE=%q\n' "$conf" "$pin_file"

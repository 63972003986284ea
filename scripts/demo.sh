#!/usr/bin/env bash
# The README's example against a running KMS (npm start): create a key, encrypt with AAD, decrypt,
# rotate, and decrypt the old ciphertext. Fails loudly if any answer is not what it should be.
set -euo pipefail
cd "$(dirname "$0")/.."
kms() { npx --no-install tsx scripts/kms.ts "$@"; }
field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0,'utf8'))['$1']))"; }

name="demo-$(date +%s)-$$"
key=$(kms CreateKey "{\"tenant\":\"acme\",\"name\":\"$name\",\"purpose\":\"SERVICE_ENVELOPE\",\"algorithm\":\"AES_256_GCM\"}" | field key_id)
echo "created key $key"
pt=$(printf 'hello' | base64); aad=$(printf 'order-42' | base64)
ct=$(kms Encrypt "{\"key_id\":\"$key\",\"plaintext\":\"$pt\",\"aad\":\"$aad\"}" | field ciphertext)
echo "ciphertext $ct"
out=$(kms Decrypt "{\"ciphertext\":\"$ct\",\"aad\":\"$aad\"}" | field plaintext)
[ "$out" = "$pt" ] || { echo "decrypt returned $out, expected $pt" >&2; exit 1; }
echo "decrypted: $(printf '%s' "$out" | base64 -d)"
v=$(kms RotateKey "{\"key_id\":\"$key\",\"reason\":\"MANUAL\"}" | field primary_version)
echo "rotated to version $v"
out=$(kms Decrypt "{\"ciphertext\":\"$ct\",\"aad\":\"$aad\"}" | field plaintext)
[ "$out" = "$pt" ] || { echo "old ciphertext no longer decrypts" >&2; exit 1; }
echo "old ciphertext still decrypts after rotation: $(printf '%s' "$out" | base64 -d)"

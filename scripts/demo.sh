#!/usr/bin/env bash
# The README's walkthrough against a running KMS (npm start), with real tokens:
#   1. the bootstrap administrator gets a token and registers a workload;
#   2. the administrator creates an AES key whose policy lets the workload encrypt and decrypt;
#   3. the workload encrypts with AAD, decrypts; the key is rotated; the old ciphertext still decrypts.
# Needs the bootstrap credential printed on first start, as KMS_ADMIN_CLIENT_ID and
# KMS_ADMIN_CLIENT_SECRET, or a file in KMS_BOOTSTRAP_CREDENTIAL_FILE. Fails loudly on any wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."
kms() { npx --no-install tsx scripts/kms.ts "$@"; }
json_field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$1','utf8'))['$2']))"; }

if [ -n "${KMS_BOOTSTRAP_CREDENTIAL_FILE:-}" ]; then
  KMS_ADMIN_CLIENT_ID=$(json_field "$KMS_BOOTSTRAP_CREDENTIAL_FILE" client_id)
  KMS_ADMIN_CLIENT_SECRET=$(json_field "$KMS_BOOTSTRAP_CREDENTIAL_FILE" client_secret)
fi
: "${KMS_ADMIN_CLIENT_ID:?set KMS_ADMIN_CLIENT_ID and KMS_ADMIN_CLIENT_SECRET from the credential printed on first start}"
: "${KMS_ADMIN_CLIENT_SECRET:?}"

admin=$(kms IssueToken "{\"client_id\":\"$KMS_ADMIN_CLIENT_ID\",\"client_secret\":\"$KMS_ADMIN_CLIENT_SECRET\",\"auth_methods\":[\"hwk\",\"otp\"]}" --get access_token)
echo "administrator token issued (15 minutes)"

suffix="$(date +%s)-$$"
reg=$(KMS_TOKEN=$admin kms RegisterIdentity "{\"name\":\"orders-$suffix\",\"kind\":\"WORKLOAD\"}")
wid=$(printf '%s' "$reg" | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8')).client_id)")
wsecret=$(printf '%s' "$reg" | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8')).client_secret)")
echo "registered workload $wid"

key=$(KMS_TOKEN=$admin kms CreateKey "{\"tenant\":\"acme\",\"name\":\"payments-$suffix\",\"purpose\":\"SERVICE_ENVELOPE\",\"algorithm\":\"AES_256_GCM\",\"policy\":{\"grants\":{\"$wid\":{\"permissions\":[\"ENCRYPT\",\"DECRYPT\",\"ADMINISTER\"]}}}}" --get key_id)
echo "created key $key"

app=$(kms IssueToken "{\"client_id\":\"$wid\",\"client_secret\":\"$wsecret\"}" --get access_token)
pt=$(printf 'hello' | base64); aad=$(printf 'order-42' | base64)
ct=$(KMS_TOKEN=$app kms Encrypt "{\"key_id\":\"$key\",\"plaintext\":\"$pt\",\"aad\":\"$aad\"}" --get ciphertext)
echo "ciphertext $ct"
out=$(KMS_TOKEN=$app kms Decrypt "{\"ciphertext\":\"$ct\",\"aad\":\"$aad\"}" --get plaintext)
[ "$out" = "$pt" ] || { echo "decrypt returned $out, expected $pt" >&2; exit 1; }
echo "decrypted: $(printf '%s' "$out" | base64 -d)"
v=$(KMS_TOKEN=$app kms RotateKey "{\"key_id\":\"$key\",\"reason\":\"MANUAL\"}" --get primary_version)
echo "rotated to version $v"
out=$(KMS_TOKEN=$app kms Decrypt "{\"ciphertext\":\"$ct\",\"aad\":\"$aad\"}" --get plaintext)
[ "$out" = "$pt" ] || { echo "old ciphertext no longer decrypts" >&2; exit 1; }
echo "old ciphertext still decrypts after rotation: $(printf '%s' "$out" | base64 -d)"
if KMS_TOKEN=$app kms ListKeys '{}' >/dev/null 2>&1; then echo "a workload must not list keys" >&2; exit 1; fi
echo "the workload may not list keys (PERMISSION_DENIED), as its role allows only its own keys"

#!/usr/bin/env bash
# The README's walkthrough against a running KMS (npm start), with real tokens:
#   1. a person (the administrator) signs in with `kms login`, approved in the console with their
#      security key and authenticator app, and registers a workload;
#   2. the administrator creates an AES key whose policy lets the workload encrypt and decrypt;
#   3. the workload encrypts with AAD, decrypts; the key is rotated; the old ciphertext still decrypts.
# People get tokens only through that ceremony (IssueToken refuses them): enrol first with the link
# printed on first start (or in KMS_BOOTSTRAP_CREDENTIAL_FILE). A person's token already at hand
# (KMS_TOKEN, at most 15 minutes) skips the login. Fails loudly on any wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."
# The package bin `kms` (apps/kms-cli); KMS_ADDRESS selects the server (default 127.0.0.1:50051).
kms() { node bin/kms.js "$@"; }
json_field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$1','utf8'))['$2']))"; }

if [ -z "${KMS_TOKEN:-}" ]; then
  echo "Sign in: kms login prints a code; open the link, sign in to the console with your security key"
  echo "and authenticator app, and approve it (KMS_HTTP_URL selects the server, default http://127.0.0.1:8080)."
  kms login --client-name "demo.sh"
  token_file="${KMS_TOKEN_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/kms/token.json}"
  KMS_TOKEN=$(json_field "$token_file" access_token)
fi
admin=$KMS_TOKEN
unset KMS_TOKEN
echo "administrator signed in (token of at most 15 minutes, amr hwk+otp)"

suffix="$(date +%s)-$$"
reg=$(KMS_TOKEN=$admin kms register-identity "{\"name\":\"orders-$suffix\",\"kind\":\"WORKLOAD\"}" --json)
wid=$(printf '%s' "$reg" | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8')).client_id)")
wsecret=$(printf '%s' "$reg" | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8')).client_secret)")
echo "registered workload $wid"

key=$(KMS_TOKEN=$admin kms create-key "{\"tenant\":\"acme\",\"name\":\"payments-$suffix\",\"purpose\":\"SERVICE_ENVELOPE\",\"algorithm\":\"AES_256_GCM\",\"policy\":{\"grants\":{\"$wid\":{\"permissions\":[\"ENCRYPT\",\"DECRYPT\",\"ADMINISTER\"]}}}}" --get key_id)
echo "created key $key"

app=$(kms issue-token --client-id "$wid" --client-secret "$wsecret" --get access_token)
pt=$(printf 'hello' | base64); aad=$(printf 'order-42' | base64)
ct=$(KMS_TOKEN=$app kms encrypt --key-id "$key" --plaintext "$pt" --aad "$aad" --get ciphertext)
echo "ciphertext $ct"
out=$(KMS_TOKEN=$app kms decrypt --ciphertext "$ct" --aad "$aad" --get plaintext)
[ "$out" = "$pt" ] || { echo "decrypt returned $out, expected $pt" >&2; exit 1; }
echo "decrypted: $(printf '%s' "$out" | base64 -d)"
v=$(KMS_TOKEN=$app kms rotate-key --key-id "$key" --reason MANUAL --get primary_version)
echo "rotated to version $v"
out=$(KMS_TOKEN=$app kms decrypt --ciphertext "$ct" --aad "$aad" --get plaintext)
[ "$out" = "$pt" ] || { echo "old ciphertext no longer decrypts" >&2; exit 1; }
echo "old ciphertext still decrypts after rotation: $(printf '%s' "$out" | base64 -d)"
if KMS_TOKEN=$app kms list-keys >/dev/null 2>&1; then echo "a workload must not list keys" >&2; exit 1; fi
echo "the workload may not list keys (PERMISSION_DENIED), as its role allows only its own keys"

#!/usr/bin/env bash
# Runs every check: type-check, lint (with Nx module boundaries), and all jest tiers (unit,
# integration against the real PostgreSQL/Redis/SoftHSM2 on this machine, end-to-end over gRPC/HTTP).
# Ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
skipped=0
step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

step "type-check" npx --no-install tsc -p tsconfig.json
step "type-check console" bash -c 'npx --no-install tsc -p apps/console/tsconfig.json && npx --no-install tsc -p apps/console/tsconfig.node.json'
step "lint" npx --no-install nx run-many -t lint --outputStyle=static --skipNxCache

summary=$(mktemp --suffix=.json)
echo "=== jest"
KMS_JEST_SUMMARY="$summary" npx --no-install jest --ci "$@"
jest_rc=$?
if [ -s "$summary" ]; then
  read -r jp jf js < <(node -e "const r=JSON.parse(require('fs').readFileSync('$summary','utf8'));console.log(r.passed, r.failed, r.skipped)")
  passed=$((passed + jp)); failed=$((failed + jf)); skipped=$((skipped + js))
  # A run that failed without a failing test (e.g. a suite that could not load) still fails.
  if [ "$jest_rc" != 0 ] && [ "$jf" = 0 ]; then failed=$((failed + 1)); fi
else
  failed=$((failed + 1))
fi
rm -f "$summary"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]

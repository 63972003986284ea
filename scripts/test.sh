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
step "lint" npx --no-install nx run-many -t lint --outputStyle=static --skipNxCache

report=$(mktemp)
echo "=== jest"
npx --no-install jest --ci --json --outputFile="$report" "$@"
jest_rc=$?
if [ -s "$report" ]; then
  read -r jp jf js < <(node -e "const r=require('$report');console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites, r.numPendingTests + r.numTodoTests)")
  passed=$((passed + jp)); failed=$((failed + jf)); skipped=$((skipped + js))
  if [ "$jest_rc" != 0 ] && [ "$jf" = 0 ]; then failed=$((failed + 1)); fi
else
  failed=$((failed + 1))
fi
rm -f "$report"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]

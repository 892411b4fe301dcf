#!/usr/bin/env bash
# npm test: typecheck, run vitest (its own summary), then one plain closing line for CI.
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit || { echo "typecheck: 0 passed, 1 failed"; exit 1; }
mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
code=$?
node -e '
  const fs = require("node:fs");
  try {
    const r = JSON.parse(fs.readFileSync("test-results/vitest.json", "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  } catch (e) { console.log("vitest: 0 passed, 1 failed"); }
'
exit $code

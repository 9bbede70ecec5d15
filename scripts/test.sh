#!/bin/sh
# The one test command (README): installs what the tests need (setup, which
# also builds or reuses the lab image), builds, runs every test — the unit
# layers in parallel, then the lab on the real IPVS kernel one file at a time
# (each lab is a VM) — and ends with the plain line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh

mkdir -p .test-results
rm -f .test-results/*.json
status=0
npx vitest run --exclude 'test/lab/**' --reporter=default --reporter=json --outputFile.json=.test-results/unit.json "$@" || status=$?
npx vitest run test/lab --no-file-parallelism --testTimeout=300000 --hookTimeout=300000 --reporter=default --reporter=json --outputFile.json=.test-results/lab.json "$@" || status=$?

node -e '
const fs = require("node:fs");
let passed = 0, failed = 0, skipped = 0;
for (const f of ["unit", "lab"]) {
  try {
    const r = JSON.parse(fs.readFileSync(`.test-results/${f}.json`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += (r.numPendingTests || 0) + (r.numTodoTests || 0);
    if (!r.success && r.numFailedTests === 0) failed += 1;
  } catch { failed += 1; console.error(`no results from the ${f} run`); }
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
'
exit "$status"

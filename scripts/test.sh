#!/bin/sh
# The one test command (README): installs what the tests need, builds, runs
# every test, and ends with the plain summary line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh

mkdir -p .test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json "$@" || status=$?

node -e '
const fs = require("node:fs");
let r;
try { r = JSON.parse(fs.readFileSync(".test-results/vitest.json", "utf8")); } catch { console.log("0 passed, 1 failed"); process.exit(0); }
const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
'
exit "$status"

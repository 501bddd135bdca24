#!/usr/bin/env bash
# The CI example: check an integration against the otwin twin of its line.
#
#   1. validate  the scenario and the sources file (annotations in a PR);
#   2. verify    that the sources file reads what the twin serves, point by point;
#   3. test      that the integration behaves when the line misbehaves: the
#                scenario's checks, judged at the twin's servers.
#
# The integration under test here is 'otwin watch' reading sources.yaml; put
# your own program after the -- of step 3. Reports go to $OUT (default ./out):
# verify.xml and checks.xml (JUnit), checks.json, checks.txt, command.log.
# The script runs every step and exits 1 when any of them found a problem.
#
# This example fails on purpose: sources.yaml holds three mistakes that
# verify names, the mistyped node leaves a tag unpolled, and nothing slows
# the filler when the capper jams. See README.md.
set -uo pipefail
cd "$(dirname "$0")"
out="${OUT:-out}"
mkdir -p "$out"
status=0

echo "== otwin validate"
otwin validate --format github line.yaml sources.yaml || status=1

echo "== otwin verify"
otwin verify sources.yaml --scenario line.yaml -q --junit "$out/verify.xml" || status=1

echo "== otwin test"
otwin test line.yaml --speed 2 --junit "$out/checks.xml" --json "$out/checks.json" \
  --command-log "$out/command.log" \
  -- otwin watch sources.yaml --headless > "$out/checks.txt" || status=1
cat "$out/checks.txt"

exit $status

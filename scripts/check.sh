#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Everything `make check` runs after the build: unit, functional, e2e (and the
# short fuzz runs when they exist). Prints each suite's result and one closing
# "N passed, N failed" line over all suites; exits non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
total_pass=0
total_fail=0
total_skip=0
rc=0

run_suite() {
	local name=$1
	shift
	local out
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	local st=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -n "$line" ]; then
		total_pass=$((total_pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
		total_fail=$((total_fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
		if echo "$line" | grep -q skipped; then
			total_skip=$((total_skip + $(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/')))
		fi
	fi
	if [ "$st" -ne 0 ]; then
		echo "suite $name FAILED (exit $st)"
		[ -z "$line" ] && total_fail=$((total_fail + 1))
		rc=1
	fi
	rm -f "$out"
}

start=$(date +%s)
run_suite unit test/unit/run.sh $(find "$BUILD/test/unit" -type f -name '*_ut' 2>/dev/null | sort)
mapfile -t ftests < <(find test/functional -type f -name 'test_*' -perm -u+x | sort)
run_suite functional test/runner.sh -n functional -t 300 "${ftests[@]/#/$top/}"
mapfile -t etests < <(find test/e2e -type f -name 'test_*' -perm -u+x | sort)
run_suite e2e test/runner.sh -n e2e -t 600 "${etests[@]/#/$top/}"
if [ -x scripts/fuzz.sh ]; then
	run_suite fuzz scripts/fuzz.sh --ci
fi
echo
echo "make check took $(($(date +%s) - start)) s"
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $rc

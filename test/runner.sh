#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run test programs: each exits 0 (pass), 77 (skip, with a reason on its last
# line), anything else (fail). Prints the pass/fail/skip lists and a closing
# "N passed, N failed, N skipped" line; exits 1 if any failed.
#
# Usage: test/runner.sh [-t TIMEOUT_S] [-n SUITE] TEST...
#   VHD_TEST_FILTER=regex runs only matching tests. Logs: $VHD_TEST_LOGDIR (default build/test-logs).
set -u
# Debian's own interpreter first: a pyenv shim in front of it costs seconds per
# call on a loaded machine, and every test calls python3 many times.
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH
timeout_s=300
suite=tests
while getopts "t:n:" o; do
	case $o in
	t) timeout_s=$OPTARG ;;
	n) suite=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

top=$(cd "$(dirname "$0")/.." && pwd)
logdir=${VHD_TEST_LOGDIR:-$top/build/test-logs}/$suite
mkdir -p "$logdir"
passed=()
failed=()
skipped=()
for t in "$@"; do
	name=${t#"$top"/}
	if [ -n "${VHD_TEST_FILTER:-}" ] && ! [[ $name =~ $VHD_TEST_FILTER ]]; then
		continue
	fi
	log=$logdir/$(echo "$name" | tr '/' '_').log
	start=$(date +%s.%N)
	timeout -k 10 "$timeout_s" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
	case $rc in
	0)
		passed+=("$name")
		echo "PASS  $name (${secs}s)"
		;;
	77)
		skipped+=("$name")
		echo "SKIP  $name: $(tail -n 1 "$log")"
		;;
	*)
		failed+=("$name")
		[ $rc -eq 124 ] && why="timeout after ${timeout_s}s" || why="exit $rc"
		echo "FAIL  $name ($why, ${secs}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/      /'
		;;
	esac
done
echo
echo "== $suite: passed: ${passed[*]:-none}"
echo "== $suite: failed: ${failed[*]:-none}"
echo "== $suite: skipped: ${skipped[*]:-none}"
echo "$suite: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
[ ${#failed[@]} -eq 0 ]

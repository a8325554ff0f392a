#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run test programs: each exits 0 (pass), 77 (skip, with a reason on its last
# line), anything else (fail). Prints the pass/fail/skip lists and a closing
# "N passed, N failed, N skipped" line; exits 1 if any failed.
#
# Usage: test/runner.sh [-t TIMEOUT_S] [-n SUITE] [-j JOBS] TEST...
#   -j JOBS  run up to JOBS tests at once (default 1); results are printed as
#            tests finish, the closing lists in the order given.
#   VHD_TEST_FILTER=regex runs only matching tests. Logs: $VHD_TEST_LOGDIR (default build/test-logs).
set -u
# Debian's own interpreter first: a pyenv shim in front of it costs seconds per
# call on a loaded machine, and every test calls python3 many times.
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH
timeout_s=300
suite=tests
jobs_max=1
while getopts "t:n:j:" o; do
	case $o in
	t) timeout_s=$OPTARG ;;
	n) suite=$OPTARG ;;
	j) jobs_max=$OPTARG ;;
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
declare -A running=()	# pid -> test name

# run_one NAME TEST LOG: runs the test, leaves "RC SECONDS" in LOG.rc.
run_one()
{
	local start rc
	start=$(date +%s.%N)
	timeout -k 10 "$timeout_s" "$2" >"$3" 2>&1 </dev/null
	rc=$?
	echo "$rc $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")" >"$3.rc"
}

logof()
{
	echo "$logdir/$(echo "$1" | tr '/' '_').log"
}

report()
{
	local name=$1 log rc secs why
	log=$(logof "$name")
	read -r rc secs <"$log.rc" || { rc=1; secs=?; }
	rm -f "$log.rc"
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
		[ "$rc" -eq 124 ] && why="timeout after ${timeout_s}s" || why="exit $rc"
		echo "FAIL  $name ($why, ${secs}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/      /'
		;;
	esac
}

reap_one()
{
	local pid
	wait -n -p pid "${!running[@]}"
	report "${running[$pid]}"
	unset "running[$pid]"
}

for t in "$@"; do
	name=${t#"$top"/}
	if [ -n "${VHD_TEST_FILTER:-}" ] && ! [[ $name =~ $VHD_TEST_FILTER ]]; then
		continue
	fi
	while [ ${#running[@]} -ge "$jobs_max" ]; do
		reap_one
	done
	run_one "$name" "$t" "$(logof "$name")" &
	running[$!]=$name
done
while [ ${#running[@]} -gt 0 ]; do
	reap_one
done
echo
echo "== $suite: passed: ${passed[*]:-none}"
echo "== $suite: failed: ${failed[*]:-none}"
echo "== $suite: skipped: ${skipped[*]:-none}"
echo "$suite: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
[ ${#failed[@]} -eq 0 ]

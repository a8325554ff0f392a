#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Everything `make check` runs after the build: unit, functional, e2e, the
# sanitizer pass and the short fuzz runs. Prints each suite's result and one
# closing "N passed, N failed" line over all suites; exits non-zero on any failure.
#
# Sanitizer pass: builds everything again with SANITIZE=address,undefined into
# $VHD_ASAN_BUILD (default build/asan) and runs the unit tests there (ASan,
# UBSan halting on the first report, LeakSanitizer on). VHD_ASAN_FUNCTIONAL
# chooses which functional tests also run against the sanitizer build:
# "quick" (default: the list below, 2-5 min), "all" (every functional test;
# the bdev, rpc, vhost, vhost_scsi and security ones pass: 7-13 min here), or
# "none". VHD_CHECK_ASAN=0 skips the pass.
set -u
# Debian's own interpreter first: a pyenv shim in front of it costs seconds per
# call on a loaded machine, and every test calls python3 many times.
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH
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
# Two at a time: most functional tests wait on daemons, sockets and timers more
# than they compute (VHD_TEST_JOBS=1 runs them one by one).
run_suite functional test/runner.sh -n functional -t 300 -j "${VHD_TEST_JOBS:-2}" \
	"${ftests[@]/#/$top/}"
mapfile -t etests < <(find test/e2e -type f -name 'test_*' -perm -u+x | sort)
run_suite e2e test/runner.sh -n e2e -t 600 "${etests[@]/#/$top/}"
if [ "${VHD_CHECK_ASAN:-1}" != 0 ]; then
	asan_build=${VHD_ASAN_BUILD:-build/asan}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	echo "== sanitizer build (SANITIZE=address,undefined BUILD=$asan_build)"
	if make -s -j"${VHD_JOBS:-2}" SANITIZE=address,undefined BUILD="$asan_build" all \
		>build/asan-build.log 2>&1; then
		run_suite unit-asan env VHD_TEST_LOGDIR="$top/$asan_build/test-logs" \
			test/unit/run.sh $(find "$asan_build/test/unit" -type f -name '*_ut' | sort)
		case ${VHD_ASAN_FUNCTIONAL:-quick} in
		none) asan_ftests=() ;;
		all) asan_ftests=("${ftests[@]}") ;;
		*)
			# 110 s under ASan here at load 5, ~4.5 min at load 13; between them they
			# drive the daemon's main paths: bdev backends and every RPC, config
			# save/replay, hostile RPC clients, vhost-blk and vhost-scsi I/O,
			# hot-plug, call-fd churn, inflight regions replaced by a hostile
			# frontend. "all" adds the slow ones (rpc/test_cli,
			# rpc/test_config, rpc/test_lifecycle, bdev/test_save_config, security,
			# blk_verify, delete_connected, scsi_verify, scsi_failure_modes).
			asan_ftests=()
			for t in bdev/test_malloc_null.py bdev/test_error_delay.py \
				bdev/test_aio_uring.py rpc/test_rpc_methods.py \
				rpc/test_rpc_client.py rpc/test_hostile.py rpc/test_reactors.py \
				vhost/test_rpc_errors.py vhost/test_save_config.py \
				vhost/test_blk_multicore.py vhost/test_call_churn.py \
				vhost/test_inflight_replace.py \
				vhost_scsi/test_scsi_protocol.py \
				vhost_scsi/test_scsi_qemu_delay.py vhost_scsi/test_scsi_rpc.py \
				vhost_scsi/test_scsi_hotplug.py; do
				[ -x "test/functional/$t" ] && asan_ftests+=("test/functional/$t")
			done
			;;
		esac
		if [ ${#asan_ftests[@]} -gt 0 ]; then
			# ASan's slowdown on a loaded machine: test/functional/lib scales its
			# start/stop deadlines and the tests their own by this factor.
			run_suite functional-asan env BUILD="$asan_build" \
				VHD_TIMEOUT_SCALE="${VHD_TIMEOUT_SCALE:-10}" \
				VHD_TEST_LOGDIR="$top/$asan_build/test-logs" \
				test/runner.sh -n functional-asan -t 600 -j "${VHD_TEST_JOBS:-2}" \
				"${asan_ftests[@]/#/$top/}"
		fi
	else
		echo "FAIL  sanitizer build; last lines of build/asan-build.log:"
		tail -n 20 build/asan-build.log | sed 's/^/      /'
		total_fail=$((total_fail + 1))
		rc=1
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi
if [ -x scripts/fuzz.sh ]; then
	run_suite fuzz scripts/fuzz.sh --ci
fi
echo
echo "make check took $(($(date +%s) - start)) s"
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $rc

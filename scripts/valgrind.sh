#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run a representative set of functional tests with every vhostd they start
# under valgrind memcheck, collect one report per daemon process, and fail on
# any memory error (invalid read/write, use of uninitialised values, bad free,
# overlapping copies...) or any definitely lost block at exit.
#
#   scripts/valgrind.sh [-o DIR] [-t SECONDS] [--strict] [TEST...]
#
#   TEST       functional tests (paths under test/functional/ or absolute);
#              default: the list below (RPC, bdev, vhost-blk, vhost-scsi, virtio)
#   -o DIR     where the reports go (default /tmp/vhd-valgrind-<date>); kept
#   -t SECONDS per-test time limit (default 600)
#   --strict   also fail when a test itself fails (under valgrind the daemon is
#              20-50x slower, so a test with tight deadlines may time out: that
#              alone is not a memory error, and by default only reported)
#
# How: test/functional/lib/{daemon.sh,vhostd.py} start the daemon through
# $VHD_WRAPPER; VHD_TIMEOUT_SCALE stretches their start/stop waits. Clients
# (vhost-perf, rpc.py) run natively. A daemon that is SIGKILLed (a test's own
# kill -9, or a stop that timed out) leaves a report without a summary: it is
# listed as "no summary" and does not count as a finding.
# Exit: 0 no findings, 1 findings (or a test failure with --strict), 2 usage,
# 77 valgrind or vhostd missing.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH

default_tests=(
	rpc/test_rpc_methods.py
	rpc/test_hostile.py
	rpc/test_lifecycle.py
	bdev/test_malloc_null.py
	bdev/test_error_delay.py
	bdev/test_aio_uring.py
	vhost/test_blk_verify.py
	vhost/test_delete_connected.py
	vhost/test_rpc_errors.py
	vhost/test_save_config.py
	vhost_scsi/test_scsi_rpc.py
	vhost_scsi/test_scsi_verify.py
	virtio/test_vhostd_backends.sh
)
out=/tmp/vhd-valgrind-$(date +%Y%m%d-%H%M%S)
limit=600
strict=0
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-t) limit=$2; shift 2 ;;
	--strict) strict=1; shift ;;
	-h | --help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "valgrind.sh: unknown option $1" >&2; exit 2 ;;
	*) tests+=("$1"); shift ;;
	esac
done
[ ${#tests[@]} -gt 0 ] || tests=("${default_tests[@]}")
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 77; }
case ${BUILD:-build} in
/*) vhostd=$BUILD/app/vhostd/vhostd ;;
*) vhostd=$top/${BUILD:-build}/app/vhostd/vhostd ;;
esac
[ -x "$vhostd" ] || { echo "$vhostd not built (run make)"; exit 77; }
mkdir -p "$out" || exit 2

export VHD_TIMEOUT_SCALE=${VHD_TIMEOUT_SCALE:-10}
vg_opts="--tool=memcheck --leak-check=full --show-leak-kinds=definite"
vg_opts+=" --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30"
vg_opts+=" --suppressions=$top/scripts/valgrind.supp"

failed_tests=()
ran=0
start_all=$(date +%s)
for t in "${tests[@]}"; do
	case $t in
	/*) path=$t ;;
	*) path=$top/test/functional/$t ;;
	esac
	name=$(echo "${t#"$top"/test/functional/}" | tr '/' '_')
	name=${name%.*}
	[ -x "$path" ] || { echo "valgrind.sh: no test $t" >&2; exit 2; }
	export VHD_WRAPPER="valgrind $vg_opts --log-file=$out/$name.vg.%p.log"
	t0=$(date +%s)
	timeout -k 10 "$limit" "$path" >"$out/$name.test.log" 2>&1
	rc=$?
	ran=$((ran + 1))
	echo "$(date +%T) $t: exit $rc ($(($(date +%s) - t0)) s)"
	[ $rc -eq 0 ] || [ $rc -eq 77 ] || failed_tests+=("$t (exit $rc)")
done
unset VHD_WRAPPER

# One report per daemon process.
daemons=0 clean=0 findings=0 nosummary=0
errors_total=0 definite_total=0
for log in "$out"/*.vg.*.log; do
	[ -e "$log" ] || continue
	daemons=$((daemons + 1))
	sum=$(grep -E '== ERROR SUMMARY: [0-9]+ errors' "$log" | tail -1 | sed -E 's/.*SUMMARY: ([0-9]+) errors.*/\1/')
	def=$(grep -E 'definitely lost: [0-9,]+ bytes' "$log" | tail -1 | sed -E 's/.*lost: ([0-9,]+) bytes.*/\1/' | tr -d ,)
	if [ -z "$sum" ]; then
		nosummary=$((nosummary + 1))
		continue
	fi
	def=${def:-0}
	errors_total=$((errors_total + sum))
	definite_total=$((definite_total + def))
	if [ "$sum" -gt 0 ] || [ "$def" -gt 0 ]; then
		findings=$((findings + 1))
		echo "FINDING $(basename "$log"): $sum errors, $def bytes definitely lost"
		grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Source and|Syscall param|[0-9,]+ bytes in [0-9,]+ blocks are definitely)' "$log" |
			sort | uniq -c | head -n 10
	else
		clean=$((clean + 1))
	fi
done

echo "valgrind: $ran tests, $daemons vhostd processes: $clean clean, $findings with findings," \
	"$nosummary without a summary (killed); errors $errors_total, definitely lost" \
	"$definite_total bytes; $(($(date +%s) - start_all)) s; reports in $out"
for f in "${failed_tests[@]}"; do
	echo "test failed under valgrind: $f (see $out)"
done
[ "$findings" -eq 0 ] || exit 1
[ "$daemons" -gt 0 ] || { echo "no vhostd process ran under valgrind"; exit 1; }
[ $strict -eq 0 ] || [ ${#failed_tests[@]} -eq 0 ] || exit 1
exit 0

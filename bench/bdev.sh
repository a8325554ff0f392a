#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bdev benchmark: build/bench/bdev/bdev_bench (in-process, one core) on null, malloc, aio and
# uring, and Debian's fio (ioengine=libaio / io_uring, O_DIRECT) on the same file, same block
# size, same queue depth, same core, alternating, REPS times each. Prints the median IOPS and
# p50/p99 of each, and the ratio of our aio/uring to fio's libaio/io_uring.
#
#   bench/bdev.sh                    defaults: CORE=1 SECS=3 REPS=3 FILE=/var/tmp/vhd-bench.img
#   CORE=0 SECS=5 REPS=5 FILE=/path/on/real/disk bench/bdev.sh
#   MODE=interrupt BACKENDS="aio uring" bench/bdev.sh      our reactor sleeps in epoll like fio
#   MODE=adaptive BACKENDS="aio uring" bench/bdev.sh       the daemon's default: sleeps between
#                                                          sparse I/Os (a QD 1 disk), polls dense ones
# On a VM, poll mode loses QD 1 IOPS to fio by spinning alone (doc/performance.md, bdev).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
CORE=${CORE:-1}
SECS=${SECS:-3}
REPS=${REPS:-3}
FILE=${FILE:-/var/tmp/vhd-bench.img}
SIZE_MB=${SIZE_MB:-1024}
BACKENDS=${BACKENDS:-"null malloc aio uring"}
MODE=${MODE:-poll}
BENCH=$BUILD/bench/bdev/bdev_bench
# tmpfs refuses O_DIRECT: our aio/uring then fall back to buffered I/O, so fio must too.
# That variant measures the engines' CPU cost without a (noisy, shared) disk underneath.
DIRECT=1

make -s -j2 "$BENCH" >/dev/null
if ! command -v fio >/dev/null; then
	echo "fio not installed (apt-get install fio): skipping the fio reference"
fi
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" -ne $((SIZE_MB << 20)) ]; then
	echo "writing $FILE ($SIZE_MB MiB, fully allocated)"
	dd if=/dev/urandom of="$FILE" bs=1M count="$SIZE_MB" status=none
fi
if [ "$(stat -f -c %T "$FILE")" = tmpfs ]; then
	DIRECT=0
fi

# One run of ours: prints "iops p50 p99".
ours() {
	local backend=$1 rw=$2 qd=$3
	taskset -c "$CORE" "$BENCH" -c "$CORE" -m "$MODE" -b "$backend" -f "$FILE" -w "$rw" -q "$qd" -t "$SECS" \
		-S 256 | sed -E 's/.*iops=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/'
}

# One fio run: prints "iops p50 p99". The latency is fio's "lat" (submission
# to completion, as ours is), not "clat" (which starts after the submit
# syscall: on this VM io_submit alone takes 40-80 us).
fio_run() {
	local engine=$1 rw=$2 qd=$3
	fio --name=ref --filename="$FILE" --ioengine="$engine" --direct=$DIRECT --rw="$rw" --bs=4k \
		--iodepth="$qd" --time_based --runtime="$SECS" --ramp_time=1 --lat_percentiles=1 \
		--cpus_allowed="$CORE" --output-format=json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["read"] if j["read"]["io_bytes"] > 0 else j["write"]
p = d["lat_ns"]["percentile"]
print("%.0f %.2f %.2f" % (d["iops"], p["50.000000"] / 1000, p["99.000000"] / 1000))'
}

# Median of REPS lines "iops p50 p99" (by iops; the p50/p99 of that run).
median() {
	sort -n | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}'
}

printf "%-8s %-10s %3s %12s %9s %9s | %-9s %12s %9s %9s | %6s\n" backend rw qd iops p50_us \
	p99_us reference iops p50_us p99_us ratio
for rw in randread randwrite; do
	for qd in 1 32; do
		for backend in $BACKENDS; do
			ref=""
			case $backend in
			aio) ref=libaio ;;
			uring) ref=io_uring ;;
			esac
			o=$(mktemp)
			r=$(mktemp)
			for _ in $(seq "$REPS"); do
				ours "$backend" "$rw" "$qd" >>"$o"
				if [ -n "$ref" ] && command -v fio >/dev/null; then
					fio_run "$ref" "$rw" "$qd" >>"$r"
				fi
			done
			read -r oi op50 op99 <<<"$(median <"$o")"
			if [ -s "$r" ]; then
				read -r ri rp50 rp99 <<<"$(median <"$r")"
				ratio=$(awk -v a="$oi" -v b="$ri" 'BEGIN {printf "%.2f", a / b}')
			else
				ri="-" rp50="-" rp99="-" ratio="-"
				ref=${ref:-"-"}
			fi
			printf "%-8s %-10s %3s %12s %9s %9s | %-9s %12s %9s %9s | %6s\n" "$backend" \
				"$rw" "$qd" "$oi" "$op50" "$op99" "$ref" "$ri" "$rp50" "$rp99" "$ratio"
			rm -f "$o" "$r"
		done
	done
done
echo "(core $CORE, reactor mode $MODE, ${SECS}s per run after 1 s warm-up, median of $REPS alternating runs, 4 KiB,"
echo " file $FILE, fio direct=$DIRECT; null/malloc are 256 MiB in memory; ratio = ours / fio)"

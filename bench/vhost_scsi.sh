#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-scsi vs vhost-blk in the same vhostd, same bdev, same client (vhost-perf),
# server on core 0 and client on core 1, in one invocation. Not a test: it prints
# IOPS, p50/p99 latency and the ratio scsi/blk, and never fails on the numbers.
#
#   bench/vhost_scsi.sh [-T SECONDS] [-r REPEATS] [-q "1 32"]
#
# For each bdev (null, malloc) x workload (4 KiB randread, randwrite) x QD, runs blk
# then scsi back to back, -r times, and keeps the median by IOPS of each.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
VPERF=$top/$BUILD/app/vhost-perf/vhost-perf
VHOSTD=$top/$BUILD/app/vhostd/vhostd
RPC=$top/scripts/rpc.py
secs=3
repeats=3
qds="1 32"
while getopts "T:r:q:h" o; do
	case $o in
	T) secs=$OPTARG ;;
	r) repeats=$OPTARG ;;
	q) qds=$OPTARG ;;
	*) sed -n '2,11p' "$0"; exit 2 ;;
	esac
done
[ -x "$VPERF" ] && [ -x "$VHOSTD" ] || { echo "build first: make"; exit 2; }
ncpu=$(nproc)
SRV_CPU=0
CLI_CPU=$((ncpu > 1 ? 1 : 0))
work=$(mktemp -d /tmp/vhd-bench-scsi.XXXXXX)
(cd "$work" && exec taskset -c $SRV_CPU "$VHOSTD" -m 0x1 -r "$work/rpc.sock" -S "$work" \
	>"$work/vhostd.log" 2>&1 </dev/null) &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
rpc() { python3 "$RPC" -s "$work/rpc.sock" "$@" >/dev/null; }
for _ in $(seq 1 100); do
	rpc framework_wait_init 2>/dev/null && break
	sleep 0.1
done
if ! python3 "$RPC" -s "$work/rpc.sock" rpc_get_methods | grep -q vhost_create_scsi_controller; then
	echo "vhostd lacks vhost-scsi: skipped"
	exit 0
fi
rpc bdev_null_create Null0 1024 512
rpc bdev_malloc_create -b Malloc0 256 512
rpc vhost_create_blk_controller blk.null Null0
rpc vhost_create_blk_controller blk.malloc Malloc0
rpc vhost_create_scsi_controller scsi.null
rpc vhost_create_scsi_controller scsi.malloc
rpc vhost_scsi_controller_add_target scsi.null 0 Null0
rpc vhost_scsi_controller_add_target scsi.malloc 0 Malloc0

# one TYPE BACKING WORKLOAD QD -> "iops p50 p99" (median of $repeats runs by IOPS)
one()
{
	local type=$1 b=$2 w=$3 qd=$4 i
	for ((i = 0; i < repeats; i++)); do
		taskset -c $CLI_CPU "$VPERF" -s "$work/$type.$b" -t "$type" -w "$w" -q "$qd" -o 4096 \
			-T "$secs" -c "[$CLI_CPU]" --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["total"]["all"]
print("%.0f %.2f %.2f" % (d["iops"], d["p50_us"], d["p99_us"]))' || echo "0 0 0"
	done | sort -n | awk -v n="$repeats" 'NR == int((n + 1) / 2)'
}

echo "# vhostd $(git -C "$top" rev-parse --short HEAD 2>/dev/null): vhost-scsi vs vhost-blk," \
	"4 KiB, ${secs}s x $repeats (median), server cpu $SRV_CPU, client cpu $CLI_CPU"
printf "%-7s %-10s %4s %10s %9s %9s %10s %9s %9s %7s\n" bdev workload qd blk_iops blk_p50 \
	blk_p99 scsi_iops scsi_p50 scsi_p99 ratio
for b in null malloc; do
	for w in randread randwrite; do
		for qd in $qds; do
			read -r bi bp50 bp99 <<<"$(one blk $b $w $qd)"
			read -r si sp50 sp99 <<<"$(one scsi $b $w $qd)"
			ratio=$(awk -v s="$si" -v b="$bi" 'BEGIN { printf (b > 0 ? "%.2f" : "n/a"), s / b }')
			printf "%-7s %-10s %4s %10s %9s %9s %10s %9s %9s %7s\n" $b $w $qd "$bi" "$bp50" \
				"$bp99" "$si" "$sp50" "$sp99" "$ratio"
		done
	done
done

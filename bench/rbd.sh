#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# RBD: vhost-perf over vhostd's rbd bdev (vhost-blk) vs `rbd bench` (librbd alone) vs
# vhost-perf over qemu-storage-daemon's rbd driver exported as vhost-user-blk, on the
# same one-node test cluster, same image, in one invocation. Not a test: prints IOPS
# and the ratios vhostd/rbd-bench and vhostd/qsd, never fails on the numbers.
#
#   bench/rbd.sh [-T SECONDS] [-q QD] [-s IMAGE_MiB] [-r ROUNDS] [-p]
#
# vhost-perf sleeps on its call eventfd (--wait) like `rbd bench` does: on a small
# machine a busy-polling client would take a core from the OSD and penalise the two
# vhost servers only. -p: let it busy-poll. Every round's figures are printed too.
#
# 4 KiB random writes then random reads over the whole image (prefilled, so every
# object exists and reads hit data); -r rounds in rotating order, medians. rbd_cache is off for all three (vhostd's default; qsd with cache.direct=on;
# rbd bench with --rbd-cache=false).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
VPERF=$top/$BUILD/app/vhost-perf/vhost-perf
VHOSTD=$top/$BUILD/app/vhostd/vhostd
RPC=$top/scripts/rpc.py
secs=10
qd=32
size=256
repeats=3
client_wait=--wait
while getopts "T:q:s:r:ph" o; do
	case $o in
	T) secs=$OPTARG ;;
	q) qd=$OPTARG ;;
	s) size=$OPTARG ;;
	r) repeats=$OPTARG ;;
	p) client_wait= ;;
	*) sed -n '2,18p' "$0"; exit 2 ;;
	esac
done
[ -x "$VPERF" ] && [ -x "$VHOSTD" ] || { echo "build first: make"; exit 2; }
ncpu=$(nproc)
SRV_CPU=0
CLI_CPU=$((ncpu > 1 ? 1 : 0))
work=$(mktemp -d /tmp/vhd-bench-rbd.XXXXXX)
ceph=$work/ceph
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	"$top/test/ceph/cluster.sh" destroy "$ceph" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
"$top/test/ceph/cluster.sh" up "$ceph" --port $((20000 + RANDOM % 20000)) \
	--image "bench:$size" >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
conf=$ceph/ceph.conf

vperf() {	# SOCK WORKLOAD -> IOPS
	taskset -c $CLI_CPU "$VPERF" -s "$1" -w "$2" -q "$qd" -o 4096 -T "$secs" --size "${size}M" \
		--timeout-ms 120000 -c "[$CLI_CPU]" $client_wait --json 2>"$work/vperf.err" |
		python3 -c '
import json, sys
print("%.0f" % json.load(sys.stdin)["total"]["all"]["iops"])' 2>/dev/null || {
		# A failed sample counts 0 and says why (stderr of vhost-perf).
		echo "vhost-perf $2 on $(basename "$1") failed: $(tail -n 3 "$work/vperf.err")" >&2
		echo 0
	}
}

rbdbench() {	# write|read -> IOPS
	local total=$((secs * 4000 * 4096))	# ~secs at 4K IOPS: bounded run
	timeout 600 taskset -c $CLI_CPU rbd -c "$conf" bench --io-type "$1" --io-size 4096 \
		--io-threads "$qd" --io-total "$total" --io-pattern rand --rbd-cache=false rbd/bench \
		2>/dev/null | awk '/^elapsed:/ { for (i = 1; i <= NF; i++) if ($i == "ops/sec:") v = $(i + 1) }
		END { printf "%.0f\n", v + 0 }'
}

# Every object written once first: otherwise whoever runs first pays for object creation.
timeout 900 rbd -c "$conf" bench --io-type write --io-size 4M --io-threads 8 \
	--io-total "$((size * 1024 * 1024))" --io-pattern seq --rbd-cache=false rbd/bench >/dev/null 2>&1

run_vhostd() {	# -> "write read"
	(cd "$work" && exec taskset -c $SRV_CPU "$VHOSTD" -m 0x1 -r "$work/rpc.sock" -S "$work" \
		>"$work/vhostd.log" 2>&1 </dev/null) &
	pid=$!
	for _ in $(seq 1 300); do
		python3 "$RPC" -s "$work/rpc.sock" framework_wait_init >/dev/null 2>&1 && break
		sleep 0.1
	done
	rpc bdev_rbd_register_cluster c0 --config-file "$conf"
	rpc bdev_rbd_create -b r0 --cluster-name c0 rbd bench 512
	rpc vhost_create_blk_controller vhd.sock r0
	echo "$(vperf "$work/vhd.sock" randwrite) $(vperf "$work/vhd.sock" randread) $(cpu_ticks "$pid")"
	kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=
}
rpc() { python3 "$RPC" -s "$work/rpc.sock" -t 120 "$@" >/dev/null; }
# CPU time (user + system, clock ticks) a server process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

run_rbdbench() {
	echo "$(rbdbench write) $(rbdbench read)"
}

run_qsd() {
	command -v qemu-storage-daemon >/dev/null || { echo "0 0"; return; }
	rm -f "$work/qsd.sock"
	taskset -c $SRV_CPU qemu-storage-daemon \
		--blockdev "driver=rbd,node-name=r,pool=rbd,image=bench,conf=$conf,user=admin,cache.direct=on" \
		--export "type=vhost-user-blk,id=e,node-name=r,addr.type=unix,addr.path=$work/qsd.sock,writable=on,num-queues=1" \
		>"$work/qsd.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do [ -S "$work/qsd.sock" ] && break; sleep 0.1; done
	echo "$(vperf "$work/qsd.sock" randwrite) $(vperf "$work/qsd.sock" randread) $(cpu_ticks "$pid")"
	kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=
}

# Median of the samples that ran (a failed sample, 0, is left out: see the rounds line).
median() { awk '$1 > 0' | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

# Rounds rotate the order (vhostd, rbd bench, qsd), so no peer always runs first.
: >"$work/v"
: >"$work/b"
: >"$work/q"
for ((r = 0; r < repeats; r++)); do
	for k in 0 1 2; do
		case $(((r + k) % 3)) in
		0) run_vhostd >>"$work/v" ;;
		1) run_rbdbench >>"$work/b" ;;
		2) run_qsd >>"$work/q" ;;
		esac
	done
done
v_w=$(cut -d' ' -f1 "$work/v" | median) v_r=$(cut -d' ' -f2 "$work/v" | median)
b_w=$(cut -d' ' -f1 "$work/b" | median) b_r=$(cut -d' ' -f2 "$work/b" | median)
q_w=$(cut -d' ' -f1 "$work/q" | median) q_r=$(cut -d' ' -f2 "$work/q" | median)

# Server CPU per I/O over both workloads of a run (start-up included): µs.
cpu_us() {	# FILE -> median µs of server CPU per I/O
	awk -v s="$secs" -v hz="$(getconf CLK_TCK)" '($1 + $2 > 0) {
		printf "%.1f\n", $3 * 1e6 / hz / (($1 + $2) * s) }' "$1" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "n/a"), a / b }'; }
echo "# vhostd $(git -C "$top" rev-parse --short HEAD 2>/dev/null): rbd, 4 KiB QD $qd, ${secs}s," \
	"image ${size} MiB, median of $repeats, server cpu $SRV_CPU, client cpu $CLI_CPU ${client_wait:-(busy-poll)}, load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-10s %12s %12s %12s %10s %10s\n" workload vhostd "rbd bench" qsd "vhd/rbd" "vhd/qsd"
printf "%-10s %12s %12s %12s %10s %10s\n" randwrite "$v_w" "$b_w" "$q_w" "$(ratio "$v_w" "$b_w")" "$(ratio "$v_w" "$q_w")"
printf "%-10s %12s %12s %12s %10s %10s\n" randread "$v_r" "$b_r" "$q_r" "$(ratio "$v_r" "$b_r")" "$(ratio "$v_r" "$q_r")"
echo "rounds (write read [cpu ticks]): vhostd: $(paste -sd, "$work/v"); rbd bench: $(paste -sd, "$work/b"); qsd: $(paste -sd, "$work/q")"
echo "server CPU per I/O (µs, both workloads, start-up included): vhostd $(cpu_us "$work/v"), qsd $(cpu_us "$work/q")"

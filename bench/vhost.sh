#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhostd vs qemu-storage-daemon over vhost-user-blk, same client (vhost-perf),
# same pinning (server on core 0, client on core 1), in one invocation.
# Not a test: it prints numbers and ratios and never fails on them.
#
#   bench/vhost.sh [-T SECONDS] [-r REPEATS] [-o OUTDIR] [-m vhostd_mode] [-p PNG] [-q "1 32 128"]
#
# For each backing (null, malloc) x workload (4 KiB randread, randwrite) x QD:
# runs QSD then vhostd back to back (the other server is SIGSTOPped), repeats
# -r times and keeps the median by IOPS. Prints IOPS, p50/p99 latency, the
# ratio vhostd/QSD and each server's CPU time per I/O (utime+stime of the
# whole process from /proc/PID/stat over the run). "malloc" for QSD is a
# file on tmpfs (/dev/shm): memory-backed, as close to a malloc bdev as QSD
# gets. QSD's null-co runs with read-zeroes=on, as vhostd's null bdev always
# zeroes reads (QEMU's default leaves the buffer untouched, which skips the
# 4 KiB write into guest memory that dominates a null read at QD 32).
# The client's own ceiling (vhost-perf --echo) is measured first.
# vhostd is skipped (and said so) when build/app/vhostd/vhostd is missing or
# lacks bdev_null_create / bdev_malloc_create / vhost_create_blk_controller.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
VPERF=$top/$BUILD/app/vhost-perf/vhost-perf
VHOSTD=$top/$BUILD/app/vhostd/vhostd
RPC=$top/scripts/rpc.py
secs=5
repeats=1
outdir=$top/$BUILD/bench/vhost
vmode=adaptive
png=$top/doc/img/vhost-bench.png
qds="1 32 128"
while getopts "T:r:o:m:p:q:h" o; do
	case $o in
	T) secs=$OPTARG ;;
	r) repeats=$OPTARG ;;
	o) outdir=$OPTARG ;;
	m) vmode=$OPTARG ;;
	p) png=$OPTARG ;;
	q) qds=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

[ -x "$VPERF" ] || { echo "build vhost-perf first: make $BUILD/app/vhost-perf/vhost-perf"; exit 2; }
command -v qemu-storage-daemon >/dev/null || { echo "qemu-storage-daemon not installed"; exit 2; }
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || echo "note: only $ncpu cpu; server and client share it"
SRV_CPU=0
CLI_CPU=$((ncpu > 1 ? 1 : 0))

mkdir -p "$outdir"
work=$(mktemp -d /tmp/vhd-bench-XXXXXX)
shm=$(mktemp -d /dev/shm/vhd-bench-XXXXXX)
results=$outdir/results.tsv
QSD_PID=
VHD_PID=

cleanup() {
	for p in $QSD_PID $VHD_PID; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$work" "$shm"
}
trap cleanup EXIT
trap "exit 130" INT TERM

wait_sock() {
	local i
	for i in $(seq 1 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# utime+stime of a whole process, in clock ticks
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK)

# ---- servers ----
start_qsd() {
	truncate -s 256M "$shm/qsd-malloc.img"
	taskset -c $SRV_CPU qemu-storage-daemon \
		--blockdev driver=null-co,node-name=null0,size=1073741824,read-zeroes=on \
		--blockdev driver=file,node-name=mal0,filename="$shm/qsd-malloc.img" \
		--export type=vhost-user-blk,id=e0,node-name=null0,addr.type=unix,addr.path="$work/qsd-null.sock",writable=on,num-queues=1 \
		--export type=vhost-user-blk,id=e1,node-name=mal0,addr.type=unix,addr.path="$work/qsd-malloc.sock",writable=on,num-queues=1 \
		>"$work/qsd.log" 2>&1 &
	QSD_PID=$!
	wait_sock "$work/qsd-null.sock" && wait_sock "$work/qsd-malloc.sock" ||
		{ echo "qemu-storage-daemon did not start:"; cat "$work/qsd.log"; exit 1; }
	# prefault the tmpfs file so that the first run does not pay for it
	dd if=/dev/zero of="$shm/qsd-malloc.img" bs=1M count=256 conv=notrunc status=none
}

vhostd_usable() {
	[ -x "$VHOSTD" ] || { echo "vhostd skipped: $VHOSTD not built"; return 1; }
	return 0
}

start_vhostd() {
	local m
	(cd "$work" && exec taskset -c $SRV_CPU "$VHOSTD" -m 0x1 -r "$work/vhostd.rpc" -S "$work" \
		--mode "$vmode") >"$work/vhostd.log" 2>&1 &
	VHD_PID=$!
	wait_sock "$work/vhostd.rpc" || { echo "vhostd skipped: no RPC socket"; cat "$work/vhostd.log"; VHD_PID=; return 1; }
	python3 "$RPC" -s "$work/vhostd.rpc" -t 10 framework_wait_init >/dev/null 2>&1
	m=$(python3 "$RPC" -s "$work/vhostd.rpc" rpc_get_methods 2>/dev/null)
	for need in bdev_null_create bdev_malloc_create vhost_create_blk_controller; do
		if ! echo "$m" | grep -q "\"$need\""; then
			echo "vhostd skipped: it has no $need RPC yet"
			kill -TERM "$VHD_PID"; wait "$VHD_PID" 2>/dev/null; VHD_PID=
			return 1
		fi
	done
	python3 "$RPC" -s "$work/vhostd.rpc" call bdev_null_create '{"name":"null0","num_blocks":2097152,"block_size":512}' >/dev/null &&
	python3 "$RPC" -s "$work/vhostd.rpc" call bdev_malloc_create '{"name":"mal0","num_blocks":524288,"block_size":512}' >/dev/null &&
	python3 "$RPC" -s "$work/vhostd.rpc" call vhost_create_blk_controller '{"ctrlr":"vhd-null.sock","dev_name":"null0","cpumask":"0x1"}' >/dev/null &&
	python3 "$RPC" -s "$work/vhostd.rpc" call vhost_create_blk_controller '{"ctrlr":"vhd-malloc.sock","dev_name":"mal0","cpumask":"0x1"}' >/dev/null ||
		{ echo "vhostd skipped: setup RPCs failed"; cat "$work/vhostd.log"; kill -TERM "$VHD_PID"; wait "$VHD_PID" 2>/dev/null; VHD_PID=; return 1; }
	wait_sock "$work/vhd-null.sock" && wait_sock "$work/vhd-malloc.sock" ||
		{ echo "vhostd skipped: controller sockets missing"; return 1; }
}

# run_one SERVER_NAME PID SOCK WORKLOAD QD -> prints "iops p50 p99 avg cpu_us_per_io"
run_one() {
	local pid=$2 sock=$3 w=$4 qd=$5 t0 t1 json
	t0=$(cpu_ticks "$pid")
	json=$(taskset -c $CLI_CPU "$VPERF" -s "$sock" -w "$w" -q "$qd" -o 4096 -T "$secs" -c "[$CLI_CPU]" --json 2>"$work/perf.err")
	local rc=$?
	t1=$(cpu_ticks "$pid")
	if [ $rc -ne 0 ]; then
		echo "0 0 0 0 0"
		echo "  ($1 $w qd=$qd failed: $(tail -n 2 "$work/perf.err"))" >&2
		return
	fi
	python3 - "$t0" "$t1" "$HZ" <<EOF
import json, sys
d = json.loads('''$json''')["total"]["all"]
t0, t1, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cpu_s = (t1 - t0) / hz
per_io = cpu_s / d["ios"] * 1e6 if d["ios"] else 0
print("%.0f %.2f %.2f %.2f %.3f" % (d["iops"], d["p50_us"], d["p99_us"], d["avg_us"], per_io))
EOF
}

# median of REPEATS runs by IOPS
run_median() {
	local i
	for i in $(seq 1 "$repeats"); do
		run_one "$@"
	done | sort -n -k1 | awk '{l[NR]=$0} END {print l[int((NR+1)/2)]}'
}

echo "# vhost bench: $(date -u +%FT%TZ) $(uname -r), load average $(cut -d" " -f1-3 /proc/loadavg), $ncpu cpus, server cpu $SRV_CPU, client cpu $CLI_CPU, ${secs}s x $repeats"
echo "# vhost-perf $(git -C "$top" rev-parse --short HEAD 2>/dev/null), qemu-storage-daemon $(qemu-storage-daemon --version | head -1 | awk '{print $3}'), vhostd mode $vmode"

# ---- the client's ceiling: vhost-perf against its own in-process null device ----
echo
echo "client ceiling (vhost-perf --echo-inline on cpu $CLI_CPU: client and in-process null device on one thread):"
printf '%-6s %12s %10s %10s\n' qd IOPS p50_us p99_us
for qd in $qds; do
	e=$("$VPERF" --echo-inline -w randread -q "$qd" -o 4096 -T "$secs" -c "[$CLI_CPU]" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["total"]["all"]; print("%.0f %.2f %.2f" % (d["iops"], d["p50_us"], d["p99_us"]))')
	printf '%-6s %12s %10s %10s\n' "$qd" $e
	echo -e "echo\techo\trandread\t$qd\t$(echo "$e" | awk '{print $1"\t"$2"\t"$3"\t0\t0"}')" >>"$work/echo.tsv"
done

# ---- the cross-core floor ----
# The hardware's: one cache line written on one cpu and answered from the other
# (bench/cacheline/pingpong). A QD 1 request crosses at least once each way, so
# no server's QD 1 latency can be below this round trip. Beside it, vhost-perf's
# own null device thread on the server's cpu (--echo): a minimal device, but no
# floor (vhostd answers faster than it).
PINGPONG=$top/$BUILD/bench/cacheline/pingpong
echo
if [ -x "$PINGPONG" ]; then
	pp=$("$PINGPONG" -a $CLI_CPU -b $SRV_CPU)
	echo "$pp"
	floor=$(echo "$pp" | sed -n 's/.*median \([0-9.]*\) us.*/\1/p')
else
	echo "cache-line round trip: $PINGPONG not built (make)"
	floor=
fi
echo "echo device (vhost-perf --echo --echo-cpu $SRV_CPU: client on cpu $CLI_CPU, null device thread on cpu $SRV_CPU, QD 1):"
echo_dev=$(taskset -c $CLI_CPU "$VPERF" --echo --echo-cpu $SRV_CPU -w randread -q 1 -o 4096 -T "$secs" \
	-c "[$CLI_CPU]" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["total"]["all"]; print("%.0f %.2f %.2f" % (d["iops"], d["p50_us"], d["p99_us"]))')
printf '%-6s %12s %10s %10s\n' qd IOPS p50_us p99_us
printf '%-6s %12s %10s %10s\n' 1 $echo_dev

start_qsd
have_vhostd=0
if vhostd_usable && start_vhostd; then
	have_vhostd=1
fi

printf 'server\tbacking\tworkload\tqd\tiops\tp50_us\tp99_us\tavg_us\tcpu_us_per_io\n' >"$results"
cat "$work/echo.tsv" >>"$results"
echo
printf '%-8s %-9s %-4s | %10s %8s %8s %7s | %10s %8s %8s %7s | %6s %7s\n' backing workload qd \
	"QSD IOPS" p50_us p99_us cpu/io "vhostd" p50_us p99_us cpu/io ratio p50x
for backing in null malloc; do
	for w in randread randwrite; do
		for qd in $qds; do
			[ -n "$VHD_PID" ] && kill -STOP "$VHD_PID"
			q=$(run_median qsd "$QSD_PID" "$work/qsd-$backing.sock" "$w" "$qd")
			[ -n "$VHD_PID" ] && kill -CONT "$VHD_PID"
			set -- $q
			qi=$1 qp50=$2 qp99=$3 qavg=$4 qcpu=$5
			printf 'qsd\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backing" "$w" "$qd" $q >>"$results"
			if [ $have_vhostd -eq 1 ]; then
				kill -STOP "$QSD_PID"
				v=$(run_median vhostd "$VHD_PID" "$work/vhd-$backing.sock" "$w" "$qd")
				kill -CONT "$QSD_PID"
				set -- $v
				vi=$1 vp50=$2 vp99=$3 vavg=$4 vcpu=$5
				printf 'vhostd\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backing" "$w" "$qd" $v >>"$results"
				ratio=$(awk -v a="$vi" -v b="$qi" 'BEGIN {printf (b > 0 ? "%.2f" : "-"), a / b}')
				lat=$(awk -v a="$vp50" -v b="$qp50" 'BEGIN {printf (b > 0 ? "%.3f" : "-"), a / b}')
			else
				vi=- vp50=- vp99=- vcpu=- ratio=- lat=-
			fi
			printf '%-8s %-9s %-4s | %10s %8s %8s %7s | %10s %8s %8s %7s | %6s %7s\n' \
				"$backing" "$w" "$qd" "$qi" "$qp50" "$qp99" "$qcpu" "$vi" "$vp50" "$vp99" "$vcpu" "$ratio" "$lat"
		done
	done
done
echo
echo "ratio = vhostd IOPS / QSD IOPS; p50x = vhostd p50 / QSD p50; cpu/io = server CPU microseconds per I/O"
[ -n "$floor" ] && echo "(cache-line round trip between the cpus: $floor us; no server's QD 1 latency can be below it)"

# ---- server CPU at a fixed load and when idle ----
# fixed: null backing, 4 KiB randread QD 32 capped at 100K IOPS (vhost-perf --rate);
# idle: no client at all, over the same time.
cpu_at_rate() {
	local pid=$1 sock=$2 t0 t1 out
	t0=$(cpu_ticks "$pid")
	out=$(taskset -c $CLI_CPU "$VPERF" -s "$sock" -w randread -q 32 -o 4096 -T "$secs" -c "[$CLI_CPU]" \
		--rate 100000 --json 2>/dev/null | python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["total"]["all"]["iops"])')
	t1=$(cpu_ticks "$pid")
	awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$secs" -v i="$out" 'BEGIN {printf "%s IOPS, %.3f cpu-s/s", i, (b - a) / hz / s}'
}
cpu_idle() {
	local t0 t1
	t0=$(cpu_ticks "$1")
	sleep "$secs"
	t1=$(cpu_ticks "$1")
	awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$secs" 'BEGIN {printf "%.3f cpu-s/s", (b - a) / hz / s}'
}
echo
[ -n "$VHD_PID" ] && kill -STOP "$VHD_PID"
echo "QSD    at 100K IOPS (null, randread qd 32): $(cpu_at_rate "$QSD_PID" "$work/qsd-null.sock"); idle: $(cpu_idle "$QSD_PID")"
[ -n "$VHD_PID" ] && kill -CONT "$VHD_PID"
if [ $have_vhostd -eq 1 ]; then
	kill -STOP "$QSD_PID"
	echo "vhostd at 100K IOPS (null, randread qd 32): $(cpu_at_rate "$VHD_PID" "$work/vhd-null.sock"); idle: $(cpu_idle "$VHD_PID") (mode $vmode)"
	kill -CONT "$QSD_PID"
fi
[ $have_vhostd -eq 1 ] || echo "vhostd: skipped (see above)"
echo "results: $results"

# ---- plot ----
if command -v gnuplot >/dev/null; then
	mkdir -p "$(dirname "$png")"
	for s in qsd vhostd; do
		for b in null malloc; do
			for w in randread randwrite; do
				awk -F'\t' -v s=$s -v b=$b -v w=$w '$1==s && $2==b && $3==w {print $4, $5}' "$results" >"$work/$s-$b-$w.dat"
			done
		done
	done
	awk -F'\t' '$1=="echo" {print $4, $5}' "$results" >"$work/echo.dat"
	plots() {
		local w=$1 sep=""
		for s in qsd vhostd; do
			for b in null malloc; do
				[ -s "$work/$s-$b-$w.dat" ] || continue
				printf '%s"%s" using 0:2:xtic(1) with linespoints title "%s %s"' "$sep" "$work/$s-$b-$w.dat" "$s" "$b"
				sep=", "
			done
		done
		printf '%s"%s" using 0:2:xtic(1) with lines dashtype 2 title "client ceiling (echo)"' "$sep" "$work/echo.dat"
	}
	gnuplot <<EOF
set terminal pngcairo size 1100,450 font ",10"
set output "$png"
set multiplot layout 1,2 title "vhost-user-blk 4 KiB, server cpu $SRV_CPU, client (vhost-perf) cpu $CLI_CPU, ${secs}s runs"
set logscale y
set grid
set xlabel "queue depth"
set ylabel "IOPS"
set key bottom right font ",9"
set title "randread"
plot $(plots randread)
set title "randwrite"
plot $(plots randwrite)
unset multiplot
EOF
	echo "plot: $png"
else
	echo "gnuplot not installed: no plot"
fi

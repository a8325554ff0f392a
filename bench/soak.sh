#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Soak test of vhostd (not part of make check):
#   N controllers (default 32; the last -s of them vhost-scsi with one target,
#   the others vhost-blk) x 4 queues, each driven by its own
#   vhost-perf --verify (randrw, rate-limited, --wait so that clients sleep),
#   while an RPC churn loop creates and deletes bdevs (malloc, null), blk
#   controllers, scsi controllers and scsi targets, for -T seconds (default 600).
#   vhostd's RSS (VmRSS) and open fd count are sampled every -i seconds.
#
# Report: churn operations and errors, vhost-perf exit codes and error counts,
# RSS first/last/max and the least-squares slope (KiB/min, whole run and
# second half), fd count first/last/min/max. Exit 0 when there is no error,
# every vhost-perf passed and the second-half RSS slope is under -L KiB/min.
#
#   bench/soak.sh [-n CTRLRS] [-s SCSI_CTRLRS] [-Q QUEUES] [-T SECONDS] [-i SAMPLE_S] [-m CPUMASK]
#                 [-r IOPS_PER_CTRLR] [-b malloc|null] [-L KIB_PER_MIN] [-o OUTDIR]
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
VHOSTD=$BUILD/app/vhostd/vhostd
VPERF=$BUILD/app/vhost-perf/vhost-perf

NCTRL=32
NSCSI=0
NQ=4
DUR=600
INTERVAL=5
MASK=0x1
RATE=500
BACKEND=malloc
SLOPE_MAX=256
OUT=
while getopts "n:s:Q:T:i:m:r:b:L:o:h" o; do
	case $o in
	n) NCTRL=$OPTARG ;;
	s) NSCSI=$OPTARG ;;
	Q) NQ=$OPTARG ;;
	T) DUR=$OPTARG ;;
	i) INTERVAL=$OPTARG ;;
	m) MASK=$OPTARG ;;
	r) RATE=$OPTARG ;;
	b) BACKEND=$OPTARG ;;
	L) SLOPE_MAX=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) sed -n '3,17p' "$0"; exit 2 ;;
	esac
done
[ -x "$VHOSTD" ] && [ -x "$VPERF" ] || { echo "build vhostd and vhost-perf first (make)"; exit 2; }
case $BACKEND in malloc | null) ;; *) echo "-b malloc|null"; exit 2 ;; esac

DIR=$(mktemp -d /tmp/vhd-soak-XXXXXX)
[ -n "$OUT" ] || OUT=$DIR
mkdir -p "$OUT"
SOCK=$DIR/rpc.sock
VPID=
PERF_PIDS=()
CHURN_PID=
cleanup() {
	rm -f "$DIR/run"
	[ -n "$CHURN_PID" ] && kill "$CHURN_PID" 2>/dev/null
	for p in "${PERF_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
		kill -TERM "$VPID"
		wait "$VPID"
	fi
	[ "$OUT" = "$DIR" ] || rm -rf "$DIR"
}
trap cleanup EXIT

echo "soak: $NCTRL controllers ($NSCSI scsi) x $NQ queues, $BACKEND, ${RATE} IOPS each, ${DUR}s, cpumask $MASK"
echo "soak: machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), output $OUT"
(cd "$DIR" && exec "$VHOSTD" -m "$MASK" -r "$SOCK" -S "$DIR" --log-level WARNING) \
	>"$OUT/vhostd.log" 2>&1 &
VPID=$!
for _ in $(seq 1 200); do
	[ -S "$SOCK" ] && break
	sleep 0.05
done
[ -S "$SOCK" ] || { echo "vhostd did not start"; tail "$OUT/vhostd.log"; exit 1; }

# Set-up, churn and sampling share one Python process per role (one persistent
# RPC connection each: a python start per call would load the machine more than vhostd).
export PYTHONPATH=$TOP/scripts
python3 - "$SOCK" "$NCTRL" "$BACKEND" "$NSCSI" <<'EOF' || { echo "set-up failed"; exit 1; }
import sys
from rpc import JSONRPCClient
sock, n, backend, nscsi = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = JSONRPCClient(sock, timeout=60)
c.call("framework_wait_init")
for i in range(n):
    p = {"name": "soak%d" % i, "num_blocks": 16384, "block_size": 512}
    c.call("bdev_%s_create" % backend, p)
    if i >= n - nscsi:
        c.call("vhost_create_scsi_controller", {"ctrlr": "soak.%d" % i})
        c.call("vhost_scsi_controller_add_target",
               {"ctrlr": "soak.%d" % i, "scsi_target_num": 0, "bdev_name": "soak%d" % i})
    else:
        c.call("vhost_create_blk_controller", {"ctrlr": "soak.%d" % i, "dev_name": "soak%d" % i})
EOF

sample() {
	local rss fds
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$VPID/status" 2>/dev/null) || return 1
	fds=$(ls "/proc/$VPID/fd" 2>/dev/null | wc -l)
	echo "$(($(date +%s) - t0)) $rss $fds" >>"${1:-$OUT/samples.txt}"
}
t0=$(date +%s)
sample "$OUT/baseline.txt"
touch "$DIR/run"
python3 - "$SOCK" "$DIR" >"$OUT/churn.log" 2>&1 <<'EOF' &
import os, sys, time
from rpc import JSONRPCClient, JSONRPCException
sock, d = sys.argv[1], sys.argv[2]
c = JSONRPCClient(sock, timeout=60)
ops = errs = it = 0
def call(m, p):
    global ops, errs
    ops += 1
    try:
        return c.call(m, p)
    except JSONRPCException as e:
        errs += 1
        print("ERROR %s %s: %s (%s)" % (m, p, e.message, e.code), flush=True)
t0 = time.time()
while os.path.exists(os.path.join(d, "run")):
    b, cb, cs = "churn%d" % it, "churn.b%d" % it, "churn.s%d" % it
    call("bdev_malloc_create", {"name": b, "num_blocks": 2048, "block_size": 512})
    call("bdev_null_create", {"name": b + "n", "num_blocks": 2048, "block_size": 512})
    call("vhost_create_blk_controller", {"ctrlr": cb, "dev_name": b})
    call("vhost_create_scsi_controller", {"ctrlr": cs})
    call("vhost_scsi_controller_add_target", {"ctrlr": cs, "scsi_target_num": 0, "bdev_name": b})
    call("vhost_scsi_controller_add_target",
         {"ctrlr": cs, "scsi_target_num": 1, "bdev_name": b + "n"})
    call("vhost_get_controllers", None)
    call("bdev_get_bdevs", None)
    call("vhost_scsi_controller_remove_target", {"ctrlr": cs, "scsi_target_num": 0})
    call("vhost_scsi_controller_remove_target", {"ctrlr": cs, "scsi_target_num": 1})
    call("vhost_delete_controller", {"ctrlr": cs})
    call("vhost_delete_controller", {"ctrlr": cb})
    call("bdev_null_delete", {"name": b + "n"})
    call("bdev_malloc_delete", {"name": b})
    it += 1
    if it % 100 == 0:
        print("churn: %d iterations, %d ops, %d errors, %.1f ops/s" %
              (it, ops, errs, ops / (time.time() - t0)), flush=True)
print("CHURN iterations=%d ops=%d errors=%d seconds=%.0f" % (it, ops, errs, time.time() - t0))
EOF
CHURN_PID=$!

for i in $(seq 0 $((NCTRL - 1))); do
	type=(-t blk)
	[ "$i" -ge $((NCTRL - NSCSI)) ] && type=(-t scsi --target 0 --lun 0)
	timeout -k 10 $((DUR + 120)) "$VPERF" -s "$DIR/soak.$i" "${type[@]}" --queues "$NQ" -w randrw -q 4 \
		-T "$DUR" --verify --size 8M --wait --rate "$RATE" --seed $((i + 1)) \
		>"$OUT/perf.$i.log" 2>&1 &
	PERF_PIDS+=($!)
done

# Sample RSS and fds while every vhost-perf runs, not once some have left (the
# start-up ramp while they connect is why the pass/fail slope is the second half).
echo "t_s rss_kib fds" >"$OUT/samples.txt"
while :; do
	running=0
	for p in "${PERF_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	[ $running -gt 0 ] || break
	kill -0 "$VPID" 2>/dev/null || { echo "vhostd died"; break; }
	[ $running -eq "$NCTRL" ] && sample
	sleep "$INTERVAL"
done
perf_fail=0
for i in "${!PERF_PIDS[@]}"; do
	wait "${PERF_PIDS[$i]}" || { perf_fail=$((perf_fail + 1)); echo "vhost-perf $i failed:"; tail -n 5 "$OUT/perf.$i.log"; }
done
PERF_PIDS=()
rm -f "$DIR/run"
wait "$CHURN_PID"
CHURN_PID=
sleep 2
sample "$OUT/end.txt"

alive=1
kill -0 "$VPID" 2>/dev/null || alive=0
grep '^CHURN' "$OUT/churn.log" || echo "CHURN (no summary)"
churn_errs=$(sed -n 's/^CHURN.*errors=\([0-9]*\).*/\1/p' "$OUT/churn.log")
[ -n "$churn_errs" ] || churn_errs=1
grep -h '^ERROR' "$OUT/churn.log" | head -5
perr=$(awk '$1 == "total" {e += $(NF - 1) + $NF} END {print e + 0}' "$OUT"/perf.*.log)
echo "PERF processes=$NCTRL failed=$perf_fail io_errors+mismatches=$perr" \
	"IOPS_total=$(awk '$1 == "total" {s += $2} END {print s + 0}' "$OUT"/perf.*.log)"
echo "IDLE (no I/O, no churn) before: rss_kib/fds $(cut -d' ' -f2- "$OUT/baseline.txt")," \
	"after: $(cut -d' ' -f2- "$OUT/end.txt" 2>/dev/null)"
awk -v n="$NCTRL" 'NR == 1 {next} {t[NR] = $1; r[NR] = $2; f[NR] = $3; m = NR}
function slope(a, b,   i, k, sx, sy, sxx, sxy) {
	k = 0; sx = sy = sxx = sxy = 0
	for (i = a; i <= b; i++) { k++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i] }
	if (k < 2 || k * sxx - sx * sx == 0) return 0
	return (k * sxy - sx * sy) / (k * sxx - sx * sx) * 60
}
END {
	rmax = fmax = 0; fmin = 1e9
	for (i = 2; i <= m; i++) {
		if (r[i] > rmax) rmax = r[i]
		if (f[i] > fmax) fmax = f[i]
		if (f[i] < fmin) fmin = f[i]
	}
	h = 2 + int((m - 1) / 2)
	printf "RSS_KIB first=%d last=%d max=%d slope_all=%.1f slope_2nd_half=%.1f KiB/min samples=%d\n",
		r[2], r[m], rmax, slope(2, m), slope(h, m), m - 1
	printf "FDS first=%d last=%d min=%d max=%d\n", f[2], f[m], fmin, fmax
	printf "%.1f\n", slope(h, m) > "/dev/stderr"
}' "$OUT/samples.txt" 2>"$DIR/slope" | tee "$OUT/summary.txt"
slope2=$(cat "$DIR/slope")
grep -c 'ERROR\|error' "$OUT/vhostd.log" | sed 's/^/vhostd log lines with "error": /'
echo "machine load at end: $(cut -d' ' -f1-3 /proc/loadavg)"

rc=0
[ "$alive" = 1 ] || { echo "FAIL: vhostd died"; rc=1; }
[ "$churn_errs" = 0 ] || { echo "FAIL: $churn_errs churn RPC errors"; rc=1; }
[ "$perr" = 0 ] || { echo "FAIL: $perr I/O errors or mismatches"; rc=1; }
[ $perf_fail = 0 ] || { echo "FAIL: $perf_fail vhost-perf runs failed"; rc=1; }
awk -v s="$slope2" -v l="$SLOPE_MAX" 'BEGIN {exit !(s > l)}' && {
	echo "FAIL: RSS grows $slope2 KiB/min in the second half (limit $SLOPE_MAX)"; rc=1; }
[ $rc = 0 ] && echo "PASS"
exit $rc

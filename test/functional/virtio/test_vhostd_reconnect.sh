#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhostd killed (SIGKILL) and restarted under load, lib/virtio reconnecting:
# vhost-perf --verify --reconnect runs randrw over an aio bdev (a file, so
# acknowledged writes survive the kill) while vhostd is killed with -9 at
# random moments and restarted with the same --state file VHD_KILLS times
# (default 3, to stay under 30 s on a loaded machine; VHD_KILLS=10 for the
# acceptance run of issue 8). The client keeps its guest memory, rings and
# inflight region, reconnects, and the new daemon resubmits what was in
# flight. Pass: vhost-perf
# exits 0 with 0 I/O errors, 0 mismatches (including the final read-back of
# the whole region) and one reconnect per kill. A split and a packed
# controller (each over its own file) are driven at the same time, so every
# kill hits both ring layouts (VHD_RINGS="split" or "packed" for one).
. "$(dirname "$0")/../lib/daemon.sh"
set -u
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH
VPERF=$VHD_BUILD_DIR/app/vhost-perf/vhost-perf
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"
kills=${VHD_KILLS:-3}
rings=${VHD_RINGS:-split packed}

[ -x "$VHD_BIN" ] || vhd_skip "$VHD_BIN not built (run make)"
VHD_DIR=$(mktemp -d /tmp/vhd-test-XXXXXX)
VHD_SOCK=$VHD_DIR/vhostd.sock
trap vhd_cleanup EXIT
state=$VHD_DIR/state.json
log=$VHD_DIR/vhostd.log

# Start (or restart) vhostd in the same directory with the same state file;
# ready when its log says so (cheaper than an rpc.py call on a loaded machine).
starts=0
daemon_start() {
	# shellcheck disable=SC2086
	(cd "$VHD_DIR" && exec ${VHD_WRAPPER:-} "$VHD_BIN" -r "$VHD_SOCK" -S "$VHD_DIR" -m 0x1 \
		--state "$state" "$@") >>"$log" 2>&1 &
	VHD_PID=$!
	starts=$((starts + 1))
	local _
	for _ in $(seq 1 600); do
		kill -0 "$VHD_PID" 2>/dev/null || vhd_fail "vhostd exited during start-up"
		[ "$(grep -c 'vhostd v[0-9.]* ready' "$log")" -ge $starts ] && return 0
		sleep 0.05
	done
	vhd_fail "vhostd did not come back"
}

# One controller per ring type, each over its own aio file, all driven at
# once: every kill hits a split and a packed client. Created by the first
# start's -c config (rpc.py calls cost seconds on a loaded machine); the
# daemon writes the state file at start and restarts load it.
bdevs= ctrlrs=
for ring in $rings; do
	truncate -s 16M "$VHD_DIR/$ring.img"
	packed=false
	[ "$ring" = packed ] && packed=true
	bdevs+="${bdevs:+,}{\"method\":\"bdev_aio_create\",\"params\":{\"name\":\"aio.$ring\","
	bdevs+="\"filename\":\"$VHD_DIR/$ring.img\",\"block_size\":512}}"
	ctrlrs+="${ctrlrs:+,}{\"method\":\"vhost_create_blk_controller\",\"params\":{"
	ctrlrs+="\"ctrlr\":\"rc.$ring\",\"dev_name\":\"aio.$ring\",\"packed_ring\":$packed}}"
done
printf '{"subsystems":[{"subsystem":"bdev","config":[%s]},{"subsystem":"vhost","config":[%s]}]}\n' \
	"$bdevs" "$ctrlrs" >"$VHD_DIR/init.json"
daemon_start -c "$VHD_DIR/init.json"
[ -s "$state" ] || vhd_fail "no state file written"

declare -A perf_pid
for ring in $rings; do
	flag=
	[ "$ring" = packed ] && flag=--packed
	# runs until SIGINT after the last kill, then reads the whole region back
	# shellcheck disable=SC2086
	timeout -s KILL 150 "$VPERF" -s "$VHD_DIR/rc.$ring" $flag --queues 2 -w randrw -q 16 \
		-T 100 --verify --size 2M --reconnect --reconnect-timeout-ms 15000 ${VHD_PERF_ARGS:-} \
		>"$VHD_DIR/perf.$ring.log" 2>&1 &
	perf_pid[$ring]=$!
done
# the kills start once every client has connected
nrings=$(echo "$rings" | wc -w)
for _ in $(seq 1 400); do
	[ "$(grep -c 'new vhost-user connection' "$log")" -ge "$nrings" ] && break
	sleep 0.05
done
for k in $(seq 1 "$kills"); do
	# a random moment in the next 0.1-0.6 s (the first kill may hit the prefill)
	sleep "0.$((RANDOM % 6 + 1))"
	for ring in $rings; do
		kill -0 "${perf_pid[$ring]}" 2>/dev/null ||
			vhd_fail "$ring: vhost-perf ended early: $(cat "$VHD_DIR/perf.$ring.log")"
	done
	kill -KILL "$VHD_PID"
	wait "$VHD_PID" 2>/dev/null
	daemon_start
	echo "$(date +%T.%N | cut -c1-12) kill $k: vhostd restarted (pid $VHD_PID)"
	# let every client reconnect and do some I/O before the next kill
	for ring in $rings; do
		for _ in $(seq 1 100); do
			[ "$(grep -c 'reconnected' "$VHD_DIR/perf.$ring.log")" -ge "$k" ] && break
			kill -0 "${perf_pid[$ring]}" 2>/dev/null || break
			sleep 0.05
		done
	done
done
sleep 0.5
for ring in $rings; do
	kill -INT "${perf_pid[$ring]}" 2>/dev/null
done
for ring in $rings; do
	wait "${perf_pid[$ring]}"
	rc=$?
	cat "$VHD_DIR/perf.$ring.log"
	[ $rc -eq 0 ] || vhd_fail "$ring: vhost-perf exited $rc"
	n=$(grep -c 'reconnected' "$VHD_DIR/perf.$ring.log")
	[ "$n" -eq "$kills" ] || vhd_fail "$ring: $n reconnects for $kills kills"
	grep -q "reconnects=$kills" "$VHD_DIR/perf.$ring.log" || vhd_fail "$ring: summary has no reconnects=$kills"
	grep -qE '^total .* 0 +0$' "$VHD_DIR/perf.$ring.log" || vhd_fail "$ring: errors or mismatches"
	echo "$ring: $kills kills, $n reconnects, 0 errors, 0 mismatches"
done
kill -0 "$VHD_PID" || vhd_fail "vhostd died"
[ -n "${VHD_VERBOSE:-}" ] && cat "$log"
echo PASS

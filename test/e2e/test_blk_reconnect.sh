#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhostd killed and restarted under a writing guest (issue 8):
#
#   vhostd --state FILE serves one blk controller (2 queues) on a delay bdev
#   (5 ms writes, so requests are in flight at any moment) over an aio bdev on
#   a host file; QEMU attaches with -chardev socket,reconnect=1. In the guest
#   4 writers stream sequence-numbered, checksummed blocks (O_DIRECT,
#   fdatasync every 8). The host then
#     - kill -9's vhostd VHD_RECONNECT_KILLS (10) times at random moments and
#       restarts it from the state file: QEMU reconnects and the new instance
#       resubmits what the shared inflight region says was in flight;
#     - stops it VHD_RECONNECT_TERMS (2) times with SIGTERM at random moments:
#       in-flight I/O drains, the daemon exits 0, and the next instance has
#       nothing to resubmit.
#   Between restarts the guest must make progress again. Finally the host
#   writes a stop marker, the guest verifies every stream block for block and
#   the host verifies the backing file the same way. Any guest I/O error fails.
#
#   test_blk_reconnect.sh [packed]   packed: the same over a packed ring
#   VHD_RECONNECT_KILLS, VHD_RECONNECT_TERMS, VHD_RECONNECT_DELAY_US (5000)
set -u
. "$(dirname "$0")/lib/common.sh"
[ "$E2E_SERVER" = vhostd ] || e2e_skip "restarts vhostd itself (VHD_E2E_SERVER=$E2E_SERVER)"
ring="split"
[ "${1:-}" = packed ] && ring=packed
e2e_server_require blk
e2e_init

kills=${VHD_RECONNECT_KILLS:-10}
terms=${VHD_RECONNECT_TERMS:-2}
delay_us=${VHD_RECONNECT_DELAY_US:-5000}
name=rc0
file=$E2E_TMP/disk.img
state=$E2E_TMP/state.json
console=$E2E_TMP/guest.log
E2E_SRV_DIR=$E2E_SOCK_DIR
sock=$E2E_SRV_DIR/$name
inst=0
resubmitted=0
nw=4

# rc_start: a new vhostd instance on the same state file; waits until it
# listens on the controller's socket again (its own log says so).
rc_start()
{
	local deadline=$((SECONDS + 30))
	inst=$((inst + 1))
	"$E2E_VHOSTD" -r "$E2E_SRV_DIR/rpc.sock" -S "$E2E_SRV_DIR" --state "$state" \
		>"$E2E_TMP/vhostd.$inst.log" 2>&1 </dev/null &
	E2E_SRV_PID=$!
	[ $inst = 1 ] && return 0
	while ! grep -qs "$name: blk controller listening" "$E2E_TMP/vhostd.$inst.log"; do
		if ! kill -0 "$E2E_SRV_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			e2e_fail "instance $inst did not restore $name from $state"
			cat "$E2E_TMP/vhostd.$inst.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

# rc_wait_progress N SECONDS: until N writers have reported progress after
# this call (with N = all: a writer whose request was lost stalls here).
rc_wait_progress()
{
	local want=$1 from deadline=$((SECONDS + $2))
	from=$(wc -l <"$console")
	while [ "$(tail -n +$((from + 1)) "$console" | tr -d '\r' |
		awk '/^VHD-STREAM-(RUNNING|PROGRESS) / && !($2 in w) { w[$2] = 1; n++ } END { print n + 0 }')" -lt "$want" ]; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "$qemu_pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
}

# A random pause of MIN..MIN+SPAN ms.
rc_pause()
{
	local ms=$(($1 + RANDOM % $2))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}

rc_start
e2e_wait_socket "$E2E_SRV_DIR/rpc.sock" "$E2E_SRV_PID" || {
	cat "$E2E_TMP/vhostd.1.log" >&2
	exit 1
}
e2e_new_disk "$file" $((64 << 20))
args=()
[ $ring = packed ] && args+=(-p)
if ! e2e_rpc bdev_aio_create "$file" aio0 512 >/dev/null ||
	! e2e_rpc bdev_delay_create -b aio0 -d d0 -r 100 -t 200 -w "$delay_us" \
		-n $((2 * delay_us)) >/dev/null ||
	! e2e_rpc vhost_create_blk_controller "${args[@]}" $name d0 >/dev/null; then
	e2e_fail "could not create the controller"
	e2e_finish
fi
grep -q '"vhost_create_blk_controller"' "$state" || e2e_fail "state file has no controller"

extra=
append="vhd.nw=$nw"
[ $ring = packed ] && extra=,packed=on
E2E_GUEST_TIMEOUT=240 e2e_qemu_start "$console" stream "$append" \
	-chardev "socket,id=c0,path=$sock,reconnect=1" \
	-device "vhost-user-blk-pci,chardev=c0,num-queues=2$extra"
qemu_pid=$E2E_QEMU_PID
E2E_PIDS+=("$qemu_pid")
if ! e2e_wait_log "$console" '^VHD-STREAM-STARTED' 120 "$qemu_pid" ||
	! rc_wait_progress $nw 60; then
	e2e_fail "guest never started streaming"
	tail -n 30 "$console" >&2
	e2e_finish
fi
e2e_log "guest streaming ($ring ring): $kills kills, then $terms SIGTERMs"

t0=$SECONDS
n=0
while [ $n -lt $((kills + terms)) ]; do
	rc_pause 20 400
	if [ $n -lt "$kills" ]; then
		sig=KILL
	else
		sig=TERM
	fi
	# (stderr off: bash's "Killed" job notice)
	{
		kill -$sig "$E2E_SRV_PID"
		e2e_wait_exit "$E2E_SRV_PID" 30
		ok=$?
		wait "$E2E_SRV_PID"
		st=$?
	} 2>/dev/null
	if [ $ok -ne 0 ]; then
		e2e_fail "instance $inst still running 30 s after SIG$sig"
		break
	fi
	if [ $sig = TERM ] && { [ $st -ne 0 ] || ! grep -q 'exit 0' "$E2E_TMP/vhostd.$inst.log"; }; then
		e2e_fail "instance $inst: SIGTERM ended with status $st"
		tail -n 20 "$E2E_TMP/vhostd.$inst.log" >&2
	fi
	n=$((n + 1))
	[ $sig = KILL ] && rc_pause 0 200
	rc_start || break
	# Writing again (all writers are checked once at the end: waiting for
	# each of them after every restart only makes the test slower).
	if ! rc_wait_progress 1 60; then
		e2e_fail "the guest wrote nothing within 60 s of restart $n (SIG$sig, instance $inst)"
		tail -n 20 "$console" >&2
		tail -n 20 "$E2E_TMP/vhostd.$inst.log" >&2
		break
	fi
	r=$(sed -n 's/.*resubmitting \([0-9]*\) inflight.*/\1/p' "$E2E_TMP/vhostd.$inst.log" |
		awk '{ s += $1 } END { print s + 0 }')
	resubmitted=$((resubmitted + r))
	if [ $sig = TERM ] && [ "$r" -ne 0 ]; then
		e2e_fail "after SIGTERM instance $inst resubmitted $r requests: the stop did not drain"
	fi
	e2e_log "restart $n (SIG$sig): instance $inst resubmitted $r, guest writing again"
done
e2e_log "$n restarts in $((SECONDS - t0)) s, $resubmitted requests resubmitted in all"
rc_wait_progress $nw 60 ||
	e2e_fail "not every writer made progress within 60 s of the last restart (a request lost?)"
[ $n -eq $((kills + terms)) ] && e2e_ok "$kills kills and $terms SIGTERMs survived"
if [ "$kills" -gt 0 ] && [ $resubmitted -eq 0 ]; then
	e2e_fail "no kill caught a request in flight: the resubmission path went untested"
fi

# Stop marker at byte 0; the guest verifies and powers off.
printf 'VHD-STOP' | dd of="$file" bs=8 count=1 conv=notrunc,fsync status=none
e2e_qemu_wait "$qemu_pid" 120
e2e_log "QEMU exited ($E2E_QEMU_STATUS)"
if e2e_guest_verdict "$console"; then
	nend=0
	while read -r _ w off nblk bs count; do
		nend=$((nend + 1))
		VHD_TOOL_BUFFERED=1 "$E2E_VHD_TOOL" stream-verify "$file" "$off" "$nblk" "$bs" \
			"$w" "$count" || e2e_fail "host check of writer $w's region"
	done < <(grep -a '^VHD-STREAM-END: ' "$console" | tr -d '\r')
	[ $nend -eq $nw ] || e2e_fail "guest reported $nend streams, expected $nw"
	e2e_log "host check: $nend streams, $(grep -a '^VHD-STREAM-TOTAL' "$console" |
		tr -d '\r' | cut -d' ' -f2) acknowledged blocks"
else
	e2e_fail "guest verdict"
fi
e2e_server_alive || e2e_fail "last instance died"
e2e_server_stop || e2e_fail "last instance did not stop cleanly"
e2e_finish

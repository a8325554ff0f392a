#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# QEMU killed (SIGKILL) in the middle of I/O: the server keeps serving another
# controller's guest, which runs its pattern test during the kill, and the
# killed controller accepts a new QEMU whose guest passes the pattern test.
# Server: VHD_E2E_SERVER=vhostd (default) | qsd.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_server_require blk
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1

size=$((64 << 20))
e2e_new_disk "$E2E_TMP/a.img" $size
e2e_new_disk "$E2E_TMP/b.img" $size
sock_a=$(e2e_blk_add killa "$E2E_TMP/a.img") || exit 1
sock_b=$(e2e_blk_add killb "$E2E_TMP/b.img") || exit 1

# Guest A: endless O_DIRECT write/verify on two queues.
# shellcheck disable=SC2046
e2e_qemu_start "$E2E_TMP/a.log" blk "vhd.mode=loop vhd.size=$size" $(e2e_blk_dev "$sock_a" c0 2)
pid_a=$E2E_QEMU_PID
E2E_PIDS+=("$pid_a")
e2e_wait_log "$E2E_TMP/a.log" '^VHD-IO-RUNNING' 90 "$pid_a" ||
	e2e_fail "guest A never started its I/O loop"

# Guest B on the other controller, running while A is killed.
# shellcheck disable=SC2046
E2E_GUEST_TIMEOUT=110 e2e_qemu_start "$E2E_TMP/b.log" blk "vhd.mode=io vhd.size=$size vhd.nq=2" \
	$(e2e_blk_dev "$sock_b" c0 2)
pid_b=$E2E_QEMU_PID
E2E_PIDS+=("$pid_b")
e2e_wait_log "$E2E_TMP/b.log" 'PASS /dev/vda present' 90 "$pid_b" ||
	e2e_fail "guest B did not see its disk"
sleep 0.5
kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null
e2e_log "killed QEMU A (pid $pid_a) during I/O"
e2e_server_alive || e2e_fail "$E2E_SERVER died when QEMU A was killed"

e2e_qemu_wait "$pid_b" 120
if e2e_guest_verdict "$E2E_TMP/b.log"; then
	e2e_verify_host "$E2E_TMP/b.log" "$E2E_TMP/b.img" 10
else
	e2e_fail "guest B (other controller) while A was killed"
fi

# A new QEMU on the killed controller's socket.
e2e_server_alive || e2e_fail "$E2E_SERVER died"
# shellcheck disable=SC2046
if e2e_qemu_run "$E2E_TMP/c.log" blk 150 "vhd.mode=io vhd.size=$size vhd.nq=2" \
	$(e2e_blk_dev "$sock_a" c0 2); then
	e2e_verify_host "$E2E_TMP/c.log" "$E2E_TMP/a.img" 10
else
	e2e_fail "new QEMU on the controller whose QEMU was killed"
fi
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

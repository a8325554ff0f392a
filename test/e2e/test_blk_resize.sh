#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Resize seen by a running guest: the host grows the backing file and tells
# the server (vhostd: bdev_aio_rescan; qsd: block_resize), the guest sees the
# new capacity without a reboot and does I/O in the grown area, which the host
# then finds in the backing file.
# Server: VHD_E2E_SERVER=vhostd (default) | qsd.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_server_require blk resize
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1

old=$((64 << 20))
new=$((96 << 20))
file=$E2E_TMP/resize.img
log=$E2E_TMP/resize.log
e2e_new_disk "$file" $old
sock=$(e2e_blk_add resize "$file") || exit 1
# shellcheck disable=SC2046
e2e_qemu_start "$log" blk "vhd.mode=resize vhd.size=$old vhd.newsize=$new vhd.nq=1" \
	$(e2e_blk_dev "$sock" c0 1)
qpid=$E2E_QEMU_PID
if e2e_wait_log "$log" '^VHD-WAIT-RESIZE' 90 "$qpid"; then
	e2e_blk_resize resize "$file" $new || e2e_fail "resize request to $E2E_SERVER failed"
	e2e_log "resized $file to $new bytes while the guest runs"
else
	e2e_fail "guest never got to the resize step"
fi
e2e_qemu_wait "$qpid" 120
if e2e_guest_verdict "$log"; then
	e2e_verify_host "$log" "$file" 11
else
	e2e_fail "guest test (resize)"
fi
[ "$(stat -c %s "$file")" = $new ] || e2e_fail "backing file is $(stat -c %s "$file") bytes"
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

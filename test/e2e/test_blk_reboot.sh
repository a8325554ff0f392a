#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Guest reboot = vhost-user re-negotiation on the same connection: the guest
# writes data and a marker, resets (QEMU runs without -no-reboot), boots again,
# finds both, and runs the pattern test; the host checks the backing file.
# Server: VHD_E2E_SERVER=vhostd (default) | qsd.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_server_require blk
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1

file=$E2E_TMP/reboot.img
log=$E2E_TMP/reboot.log
e2e_new_disk "$file" $((64 << 20))
sock=$(e2e_blk_add reboot "$file") || exit 1
# shellcheck disable=SC2046
E2E_QEMU_REBOOT=1 E2E_GUEST_TIMEOUT=100 e2e_qemu_run "$log" blk 150 \
	"vhd.mode=reboot vhd.size=$((64 << 20)) vhd.nq=2" $(e2e_blk_dev "$sock" c0 2) ||
	e2e_fail "guest test (reboot)"
boots=$(grep -a -c '^VHD-BOOT' "$log")
[ "$boots" = 2 ] || e2e_fail "guest booted $boots times, expected 2"
grep -a -q 'PASS second boot: marker found' "$log" || e2e_fail "second boot did not find the marker"
e2e_verify_host "$log" "$file" 12
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

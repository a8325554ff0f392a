#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The guest's write cache switch on vhost-user-blk: vhostd offers
# VIRTIO_BLK_F_CONFIG_WCE (the aio bdev flushes), Linux shows a writable
# /sys/block/vda/cache_type, and "write through" written there reaches vhostd
# through QEMU's SET_CONFIG. The guest writes 256 O_DIRECT blocks in each of
# writeback, writethrough, writeback; the bdev must then have flushed exactly
# once per writethrough write on top of the guest's own flushes (never for the
# writeback phases), and the backing file holds every block.
# vhostd only (the flush count comes from bdev_get_iostat).
set -u
. "$(dirname "$0")/lib/common.sh"
[ "$E2E_SERVER" = vhostd ] || e2e_skip "needs vhostd's bdev_get_iostat (server $E2E_SERVER)"
e2e_server_require blk
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1

name=wce
file=$E2E_TMP/$name.img
log=$E2E_TMP/$name.log
e2e_new_disk "$file" $((64 << 20))
if ! sock=$(e2e_blk_add "$name" "$file"); then
	e2e_fail "$name: could not export $file"
# shellcheck disable=SC2046 # the QEMU device arguments
elif ! E2E_SMP=2 e2e_qemu_run "$log" wce 150 "" $(e2e_blk_dev "$sock" c0 2); then
	e2e_fail "$name: guest test"
else
	# shellcheck disable=SC2046
	set -- $(grep -a '^VHD-WCE: ' "$log" | tr -d '\r' | tail -1)
	if [ $# -ne 9 ]; then
		e2e_fail "$name: no VHD-WCE line from the guest"
	else
		wt=$5 guest_flushes=$9
		flushes=$(e2e_rpc bdev_get_iostat -b "b-$name" |
			"$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["bdevs"][0]["num_flush_ops"])')
		extra=$((flushes - guest_flushes))
		# A flush at power-off (sync) may come after the guest's count: slack of 2.
		if [ -z "$flushes" ] || [ $extra -lt "$wt" ] || [ $extra -gt $((wt + 2)) ]; then
			e2e_fail "$name: bdev flushed $flushes times, guest sent $guest_flushes," \
				"expected $wt more (one per writethrough write: $*)"
		else
			e2e_ok "$name: $flushes bdev flushes = $guest_flushes from the guest +" \
				"$extra for $wt writethrough writes (${*:2})"
		fi
	fi
	e2e_verify_host "$log" "$file" 3
fi
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

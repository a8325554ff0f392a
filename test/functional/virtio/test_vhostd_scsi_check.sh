#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhostd's vhost-scsi controller driven by virtio-check --scsi: INQUIRY and a
# write/read round trip, then hostile virtio-scsi requests (short header,
# short or read-only response, LUN byte 0 not 1, bad LUN address method,
# missing target/LUN, a CDB longer than cdb_size, a header larger than
# cdb_size, READ into read-only buffers, no response buffer, INOUT, short and
# unknown controlq requests): vhostd must answer per the virtio spec, never
# report success for an invalid request, never write into a read-only buffer,
# and keep serving the other request queue and new connections. Split and
# packed rings (packed controllers where vhostd offers them).
. "$(dirname "$0")/../lib/daemon.sh"
set -u
[ -x /usr/bin/python3 ] && export PATH=/usr/bin:$PATH
VCHECK=$VHD_BUILD_DIR/app/vhost-perf/virtio-check
[ -x "$VCHECK" ] || vhd_skip "virtio-check not built (run make)"

vhd_start -m 0x1
vhd_rpc call bdev_malloc_create '{"name":"mal0","num_blocks":65536,"block_size":512}' >/dev/null || vhd_fail "malloc"
vhd_rpc call vhost_create_scsi_controller '{"ctrlr":"sc.0"}' >/dev/null || vhd_fail "scsi ctrlr"
vhd_rpc call vhost_scsi_controller_add_target '{"ctrlr":"sc.0","scsi_target_num":3,"bdev_name":"mal0"}' \
	>/dev/null || vhd_fail "add target"

rings="split"
if vhd_rpc call vhost_create_scsi_controller '{"ctrlr":"sc.1","packed_ring":true}' >/dev/null 2>&1; then
	vhd_rpc call vhost_scsi_controller_add_target '{"ctrlr":"sc.1","scsi_target_num":3,"bdev_name":"mal0"}' \
		>/dev/null || vhd_fail "add target (packed)"
	rings="split packed"
fi
for ring in $rings; do
	ctrlr=sc.0 flag=
	[ "$ring" = packed ] && ctrlr=sc.1 flag=--packed
	out=$(timeout -k 5 120 "$VCHECK" -s "$VHD_DIR/$ctrlr" --scsi --target 3 $flag 2>&1)
	rc=$?
	echo "$ring: $out"
	[ $rc -eq 0 ] || vhd_fail "virtio-check --scsi $flag exited $rc"
	echo "$out" | grep -q 'passed, 0 failed' || vhd_fail "no summary"
done
kill -0 "$VHD_PID" || vhd_fail "vhostd died"
echo PASS

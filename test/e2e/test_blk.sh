#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-user-blk with a real guest: size, O_DIRECT patterns at many offsets and
# sizes (checked again on the host in the backing file), write-zeroes, discard,
# ext4 + checksums + fsck; one queue, four queues on four vCPUs, packed ring.
# Server: VHD_E2E_SERVER=vhostd (default) | qsd.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_server_require blk
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1

e2e_blk_boot blk1 full 1 2 $((64 << 20))
e2e_blk_boot blk4 io 4 4 $((64 << 20))
if [ "$E2E_SERVER" = vhostd ]; then
	e2e_blk_boot blkpacked io 2 2 $((64 << 20)) packed
else
	echo "e2e: packed ring not tested: $E2E_SERVER has no packed vhost-user-blk" >&2
fi
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

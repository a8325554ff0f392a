#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A read-only vhost-user-blk disk: the guest sees the read-only flag, reads
# the data the host put there, every write (O_DIRECT, buffered+fsync, mkfs)
# fails, and the backing file is unchanged afterwards.
# Server: VHD_E2E_SERVER=vhostd (default) | qsd.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_server_require blk
e2e_init
e2e_server_start "$E2E_SOCK_DIR" || exit 1
e2e_blk_boot ro ro 1 2 $((64 << 20)) ro
e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

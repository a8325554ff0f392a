#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_blk_reconnect.sh on a packed ring (QEMU packed=on, controller created
# with -p): 10 kill -9 restarts, the requests in flight resubmitted from the
# descriptor copies in the shared inflight region, then 3 graceful SIGTERM
# restarts (in-flight I/O drained, nothing left to resubmit); the guest's
# streams verified block for block in the guest and on the host.
# Skips (77) with a vhostd whose lib/vhost/vhost.c predates packed
# resubmission (/work/agents/patches/reconnect-inflight.patch).
E2E_VHOSTD=${VHD_E2E_VHOSTD:-$(cd "$(dirname "$0")/../.." && pwd)/build/app/vhostd/vhostd}
if [ -x "$E2E_VHOSTD" ] && ! grep -a -q 'inflight requests (%s ring)' "$E2E_VHOSTD"; then
	echo "SKIP: $E2E_VHOSTD has no packed-ring inflight resubmission (lib/vhost/vhost.c without reconnect-inflight.patch)"
	exit 77
fi
VHD_RECONNECT_TERMS=${VHD_RECONNECT_TERMS:-3} exec "$(dirname "$0")/test_blk_reconnect.sh" packed

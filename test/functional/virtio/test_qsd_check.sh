#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# virtio-check (blk conformance + hostile-guest requests) against
# qemu-storage-daemon: proves the checks and lib/virtio's raw ring API on a
# backend we do not write. QSD must survive every hostile request.
. "$(dirname "$0")/qsd.sh"
set -u
VCHECK=$VT_TOP/${BUILD:-build}/app/vhost-perf/virtio-check
[ -x "$VCHECK" ] || vt_skip "$VCHECK not built (run make)"

qsd_start file 2
out=$(timeout -k 5 200 "$VCHECK" -s "$QSD_SOCK" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || vt_fail "virtio-check exited $rc"
kill -0 "$QSD_PID" || vt_fail "qemu-storage-daemon died"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# After a vhostd crash (SIGKILL while holding an image's exclusive lock), the
# restarted vhostd breaks the dead instance's lock at open (its client record says
# the process is gone) so its first write does not wait ~30 s for the watch to
# time out. A lock held by a live vhostd is left alone.
. "$(dirname "$0")/../lib/daemon.sh"
. "$(dirname "$0")/rbdtest.sh"
set -u
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"

rbd_cluster_up img0:16
conf=$VHD_CEPH/ceph.conf
export VHD_RBD_CLIENT_DIR=$VHD_CEPH/clients

open_img() {
	call bdev_rbd_register_cluster "{\"name\":\"c0\",\"config_file\":\"$conf\"}" >/dev/null
	call bdev_rbd_create '{"name":"r0","cluster_name":"c0","pool_name":"rbd","rbd_name":"img0","block_size":512}' >/dev/null
	call vhost_create_blk_controller "{\"ctrlr\":\"r0.s\",\"dev_name\":\"r0\"}" >/dev/null
}

rbd_start -m 0x1
open_img
perf -s "$VHD_DIR/r0.s" -w randwrite -q 4 -T 1 --size 4M >/dev/null 2>&1 || vhd_fail "first write"
ls "$VHD_RBD_CLIENT_DIR"/* >/dev/null 2>&1 || vhd_fail "no client record in $VHD_RBD_CLIENT_DIR"
owners=$(rbd_cli lock ls rbd/img0 2>&1)
echo "$owners" | grep -q 'auto' || vhd_fail "image not locked by the first vhostd: $owners"

# a second, live vhostd must not take the lock away
first_dir=$VHD_DIR
first_pid=$VHD_PID
VHD_DIR= VHD_PID=
rbd_start -m 0x1
call bdev_rbd_register_cluster "{\"name\":\"c0\",\"config_file\":\"$conf\"}" >/dev/null
call bdev_rbd_create '{"name":"r0","cluster_name":"c0","pool_name":"rbd","rbd_name":"img0","block_size":512}' >/dev/null
grep -q 'not a dead vhostd: left alone' "$VHD_DIR/vhostd.log" || vhd_fail "live owner: no 'left alone' notice"
vhd_stop || true
rm -rf "$VHD_DIR"

# crash the first one, then restart: the lock is broken at open, the first write is quick
kill -KILL "$first_pid"
wait "$first_pid" 2>/dev/null
rm -rf "$first_dir"
VHD_DIR= VHD_PID=
rbd_start -m 0x1
open_img
grep -q 'broke stale exclusive lock of dead vhostd client' "$VHD_DIR/vhostd.log" ||
	vhd_fail "stale lock not broken"
t0=$(date +%s)
perf -s "$VHD_DIR/r0.s" -w randwrite -q 4 -T 1 --size 4M --timeout-ms 120000 >/dev/null 2>&1 ||
	vhd_fail "write after restart"
t1=$(date +%s)
echo "first write after the crash done in $((t1 - t0)) s (lock broken)"
[ $((t1 - t0)) -lt 20 ] || vhd_fail "first write took $((t1 - t0)) s"
vhd_stop || vhd_fail "vhostd exit code $?"
echo "PASS"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The OSD goes away under I/O and comes back, with the two documented policies:
#  - rados_osd_op_timeout 0 (default): I/O stalls while the OSD is down and then
#    completes with no error; vhost-perf --verify finds every write intact.
#  - rados_osd_op_timeout 3: I/O fails with errors reported to the initiator while
#    the OSD is down; the daemon keeps serving, deleting the bdev answers even though
#    rbd_close cannot finish, and I/O works again once the OSD is back.
. "$(dirname "$0")/../lib/daemon.sh"
. "$(dirname "$0")/rbdtest.sh"
set -u
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"

rbd_cluster_up stall:16 fail:16
conf=$VHD_CEPH/ceph.conf
rbd_start -m 0x1

call bdev_rbd_register_cluster "{\"name\":\"wait\",\"config_file\":\"$conf\"}" >/dev/null
call bdev_rbd_register_cluster "{\"name\":\"fast\",\"config_file\":\"$conf\",\"config_param\":{\"rados_osd_op_timeout\":\"3\"}}" >/dev/null
call bdev_rbd_create '{"name":"rs","cluster_name":"wait","pool_name":"rbd","rbd_name":"stall","block_size":512}' >/dev/null
# The detached close ends once the OSD is back; until then a reopen is refused (-EBUSY).
for i in $(seq 1 120); do
	out=$(vhd_rpc -t 120 call bdev_rbd_create '{"name":"rf","cluster_name":"fast","pool_name":"rbd","rbd_name":"fail","block_size":512}' 2>&1) && break
	echo "$out" | grep -q 'has not finished' || vhd_fail "reopen rf: $out"
	sleep 1
done
vhd_rpc bdev_get_bdevs -b rf >/dev/null 2>&1 || vhd_fail "rf not reopened: $out"
call vhost_create_blk_controller "{\"ctrlr\":\"rs.s\",\"dev_name\":\"rs\"}" >/dev/null
call vhost_create_blk_controller "{\"ctrlr\":\"rf.s\",\"dev_name\":\"rf\"}" >/dev/null

# Take both exclusive locks before the outage (a write while the lock is being
# acquired hangs regardless of the op timeout: see doc/rbd.md).
perf -s "$VHD_DIR/rs.s" -w randwrite -q 4 -T 1 --size 4M >/dev/null 2>&1 || vhd_fail "warm-up rs"
perf -s "$VHD_DIR/rf.s" -w randwrite -q 4 -T 1 --size 4M >/dev/null 2>&1 || vhd_fail "warm-up rf"

# --- op timeout 0: stall, then continue without error ---
perf -s "$VHD_DIR/rs.s" -w randrw -q 8 -T 25 --verify --size 4M --timeout-ms 600000 \
	>"$VHD_DIR/stall.out" 2>&1 &
perf_pid=$!
sleep 4
"$CLUSTER_SH" stop-osd "$VHD_CEPH" 0 || vhd_fail "stop osd"
echo "osd.0 stopped"
sleep 8
# --- op timeout 3 while the OSD is down: errors reach the initiator ---
out=$(perf -s "$VHD_DIR/rf.s" -w randwrite -q 4 -T 2 --size 4M --timeout-ms 600000 2>&1)
rc=$?
[ $rc -eq 1 ] || vhd_fail "op timeout 3 with the OSD down: vhost-perf exit $rc (want 1): $out"
echo "$out" | grep -q 'I/O errors' || vhd_fail "no I/O errors reported: $out"
echo "op timeout 3: errors reported while the OSD is down"
vhd_rpc spdk_get_version >/dev/null || vhd_fail "daemon not serving during the outage"
# Deleting an image whose lock is held while the OSD is down: rbd_close blocks until
# the OSD is back; the delete must still answer (bounded wait, then the close is detached).
call vhost_delete_controller '{"ctrlr":"rf.s"}' >/dev/null
t0=$(date +%s)
call bdev_rbd_delete '{"name":"rf"}' >/dev/null
t1=$(date +%s)
[ $((t1 - t0)) -le 60 ] || vhd_fail "bdev_rbd_delete with the OSD down took $((t1 - t0)) s"
if grep -q 'rbd_close did not return' "$VHD_DIR/vhostd.log"; then
	echo "delete with the OSD down: answered in $((t1 - t0)) s, close detached"
else
	echo "delete with the OSD down: answered in $((t1 - t0)) s (close returned)"
fi
"$CLUSTER_SH" start-osd "$VHD_CEPH" 0 || vhd_fail "start osd"
echo "osd.0 restarted"
wait $perf_pid
rc=$?
[ $rc -eq 0 ] || vhd_fail "op timeout 0: vhost-perf exit $rc: $(cat "$VHD_DIR/stall.out")"
echo "op timeout 0: stalled and completed with no error ($(awk '/^total/ {print $2 " IOPS"}' "$VHD_DIR/stall.out"))"
# The detached close ends once the OSD is back; until then a reopen is refused (-EBUSY).
for i in $(seq 1 120); do
	out=$(vhd_rpc -t 120 call bdev_rbd_create '{"name":"rf","cluster_name":"fast","pool_name":"rbd","rbd_name":"fail","block_size":512}' 2>&1) && break
	echo "$out" | grep -q 'has not finished' || vhd_fail "reopen rf: $out"
	sleep 1
done
vhd_rpc bdev_get_bdevs -b rf >/dev/null 2>&1 || vhd_fail "rf not reopened: $out"
call vhost_create_blk_controller "{\"ctrlr\":\"rf.s\",\"dev_name\":\"rf\"}" >/dev/null
out=$(perf -s "$VHD_DIR/rf.s" -w randrw -q 4 -T 2 --verify --size 4M --timeout-ms 600000 2>&1) ||
	vhd_fail "rf after the OSD returned: $out"
echo "op timeout 3: image reopened, I/O works again after the OSD returned"

call vhost_delete_controller '{"ctrlr":"rs.s"}' >/dev/null
call vhost_delete_controller '{"ctrlr":"rf.s"}' >/dev/null
call bdev_rbd_delete '{"name":"rs"}' >/dev/null
call bdev_rbd_delete '{"name":"rf"}' >/dev/null
vhd_stop || vhd_fail "vhostd exit code $?"
echo "PASS"

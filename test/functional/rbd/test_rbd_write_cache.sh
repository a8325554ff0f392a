#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# librbd's write cache (rbd_cache=true): the bdev reports a volatile write cache
# (write_cache, virtio-blk wce) exactly when librbd acknowledges writes before they
# are durable - the cluster's config map, an image-level override (`rbd config
# image set`), and a write-through cache (rbd_cache_policy=writethrough) decide;
# data written through the cache reads back intact (vhost-perf --verify); and a
# flush whose cached writes cannot reach the OSD fails to the initiator
# (VIRTIO_BLK_S_IOERR) while the daemon stays healthy, then works again once the
# OSD is back.
. "$(dirname "$0")/../lib/daemon.sh"
. "$(dirname "$0")/rbdtest.sh"
set -u
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"
VCHECK=$(dirname "$VPERF")/virtio-check
[ -x "$VCHECK" ] || vhd_skip "virtio-check not built (run make)"

rbd_cluster_up wb:16 plain:16 img:16 wt:16
conf=$VHD_CEPH/ceph.conf
rbd_start -m 0x1

write_caches() {	# -> "name=true|false ..." for every bdev, one RPC
	vhd_rpc bdev_get_bdevs | python3 -c '
import json, sys
print(" ".join(sorted("%s=%s" % (b["name"], str(b["write_cache"]).lower()) for b in json.load(sys.stdin))))'
}

flush_check() {	# SOCK [REGEX]: virtio-check's write/read and flush conformance checks
	timeout -k 5 120 "$VCHECK" -s "$1" --only "${2:-conformance/(rw_region_edges|flush)}" \
		--timeout-ms 60000 2>&1
}

call bdev_rbd_register_cluster "{\"name\":\"c0\",\"config_file\":\"$conf\"}" >/dev/null
call bdev_rbd_register_cluster "{\"name\":\"wb\",\"config_file\":\"$conf\",\"config_param\":{\"rbd_cache\":\"true\",\"rados_osd_op_timeout\":\"3\"}}" >/dev/null

# Which disks have a volatile cache.
rbd_cli config image set rbd/img rbd_cache true || vhd_fail "rbd config image set"
rbd_cli config image set rbd/wt rbd_cache_policy writethrough || vhd_fail "rbd config image set"
call bdev_rbd_create '{"name":"rwb","cluster_name":"wb","pool_name":"rbd","rbd_name":"wb","block_size":512}' >/dev/null
call bdev_rbd_create '{"name":"rplain","cluster_name":"c0","pool_name":"rbd","rbd_name":"plain","block_size":512}' >/dev/null
call bdev_rbd_create '{"name":"rimg","cluster_name":"c0","pool_name":"rbd","rbd_name":"img","block_size":512}' >/dev/null
call bdev_rbd_create '{"name":"rwt","cluster_name":"wb","pool_name":"rbd","rbd_name":"wt","block_size":512}' >/dev/null
# rwb: rbd_cache=true in the config map; rplain: the default (off); rimg: an
# image-level rbd_cache=true; rwt: rbd_cache=true but a write-through policy.
wc=$(write_caches)
[ "$wc" = "rimg=true rplain=false rwb=true rwt=false" ] || vhd_fail "write_cache: $wc"
grep -q 'rwb: .*rbd_cache on (write cache advertised)' "$VHD_DIR/vhostd.log" ||
	vhd_fail "no 'write cache advertised' notice for rwb"
echo "write_cache: config map true, image override true, default false, writethrough false"
for b in rplain rimg rwt; do
	call bdev_rbd_delete "{\"name\":\"$b\"}" >/dev/null
done

# Data through the cache, flushes answered OK.
call vhost_create_blk_controller '{"ctrlr":"wb.s","dev_name":"rwb"}' >/dev/null
sock=$VHD_DIR/wb.s
out=$(flush_check "$sock") || vhd_fail "flush with the OSD up: $out"
out=$(perf -s "$sock" --queues 2 -w randrw -q 16 -T 2 --verify --size 8M 2>&1) ||
	vhd_fail "verify through the cache: $out"
echo "cache on: verify ok ($(echo "$out" | awk '/^total/ {print $2 " IOPS"}')), flush ok"

# The OSD goes away: writes are acknowledged from the cache, the flush fails.
"$CLUSTER_SH" stop-osd "$VHD_CEPH" 0 || vhd_fail "stop osd"
# Sequential, rate-capped: ~1 MiB in all, far below rbd_cache_max_dirty.
t0=$(date +%s)
out=$(perf -s "$sock" -w write -q 4 -o 4096 -T 1 --rate 256 --size 4M --timeout-ms 60000 2>&1) ||
	vhd_fail "cached writes with the OSD down: $out"
t1=$(date +%s)
echo "OSD down: cached writes acknowledged ($((t1 - t0)) s)"
out=$(flush_check "$sock" 'conformance/flush')
rc=$?
t2=$(date +%s)
[ $rc -eq 1 ] || vhd_fail "flush with the OSD down: virtio-check exit $rc (want 1): $out"
echo "$out" | grep -q 'FAIL  conformance/flush.*status 1' ||
	vhd_fail "flush with the OSD down: no IOERR status: $out"
echo "OSD down: flush failed to the initiator with IOERR after $((t2 - t1)) s"
grep -q 'flush failed' "$VHD_DIR/vhostd.log" || vhd_fail "flush error not logged"
vhd_rpc spdk_get_version >/dev/null || vhd_fail "daemon not serving during the outage"

"$CLUSTER_SH" start-osd "$VHD_CEPH" 0 || vhd_fail "start osd"
ok=0
for _ in $(seq 1 60); do
	if out=$(flush_check "$sock"); then
		ok=1
		break
	fi
	sleep 1
done
[ $ok = 1 ] || vhd_fail "flush after the OSD returned: $out"
out=$(perf -s "$sock" -w randrw -q 8 -T 2 --verify --size 4M --timeout-ms 120000 2>&1) ||
	vhd_fail "I/O after the OSD returned: $out"
echo "OSD back: flush ok, verify ok"

call vhost_delete_controller '{"ctrlr":"wb.s"}' >/dev/null
call bdev_rbd_delete '{"name":"rwb"}' >/dev/null
vhd_stop || vhd_fail "vhostd exit code $?"
echo "PASS"

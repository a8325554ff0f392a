#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Ceph RBD bdev over the RPCs, on our own one-node cluster: register/unregister/info
# of clusters, create/delete/resize, every bad input (unknown pool, unknown image,
# unreachable mon within client_mount_timeout, bad params, busy cluster), a resize
# by another client seen as a bdev resize, save_config, a private connection, and
# vhost-perf --verify over a vhost-blk controller on the rbd bdev.
. "$(dirname "$0")/../lib/daemon.sh"
. "$(dirname "$0")/rbdtest.sh"
set -u
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"

rbd_cluster_up img0:32 img1:16
conf=$VHD_CEPH/ceph.conf
rbd_start -m 0x1

expect_err() {	# expect_err PATTERN METHOD JSON: the call fails and the message matches
	local pat=$1 out
	shift
	out=$(vhd_rpc -t 120 call "$@" 2>&1) && vhd_fail "rpc $* succeeded: $out"
	echo "$out" | grep -Eq "$pat" || vhd_fail "rpc $*: expected /$pat/, got: $out"
}

call bdev_rbd_register_cluster "{\"name\":\"c0\",\"config_file\":\"$conf\"}" >/dev/null
info=$(call bdev_rbd_get_clusters_info '{"name":"c0"}')
echo "$info" | grep -q '"connected": true' || vhd_fail "cluster info: $info"
expect_err 'already registered' bdev_rbd_register_cluster "{\"name\":\"c0\",\"config_file\":\"$conf\"}"
expect_err 'not found' bdev_rbd_get_clusters_info '{"name":"nope"}'
expect_err 'config_param' bdev_rbd_register_cluster '{"name":"c9","config_param":{"a":1}}'
expect_err 'config_file' bdev_rbd_register_cluster '{"name":"c9","config_file":"/nonexistent/ceph.conf"}'
expect_err 'Invalid parameters' bdev_rbd_create '{"cluster_name":"c0","rbd_name":"img0","block_size":512}'

# unreachable mon: a clear error within client_mount_timeout (3 s), not librbd's 300 s
t0=$(date +%s)
expect_err 'rados_connect: Connection timed out' bdev_rbd_register_cluster \
	"{\"name\":\"dead\",\"config_param\":{\"mon_host\":\"v2:127.0.0.1:9\",\"key\":\"AQBtOQZnAAAAABAAmG0wLs0j3i5BhbY+R6pP1g==\",\"client_mount_timeout\":\"3\"}}"
t1=$(date +%s)
[ $((t1 - t0)) -le 30 ] || vhd_fail "unreachable mon took $((t1 - t0)) s"
expect_err 'not found' bdev_rbd_get_clusters_info '{"name":"dead"}'
echo "unreachable mon: error after $((t1 - t0)) s"

expect_err 'no such pool' bdev_rbd_create '{"name":"x","cluster_name":"c0","pool_name":"nopool","rbd_name":"img0","block_size":512}'
expect_err 'no such image' bdev_rbd_create '{"name":"x","cluster_name":"c0","pool_name":"rbd","rbd_name":"noimg","block_size":512}'
expect_err 'cluster nope not found' bdev_rbd_create '{"name":"x","cluster_name":"nope","pool_name":"rbd","rbd_name":"img0","block_size":512}'
expect_err 'block_size' bdev_rbd_create '{"name":"x","cluster_name":"c0","pool_name":"rbd","rbd_name":"img0","block_size":1000}'
expect_err 'excludes' bdev_rbd_create '{"name":"x","cluster_name":"c0","user_id":"admin","pool_name":"rbd","rbd_name":"img0","block_size":512}'
vhd_rpc bdev_get_bdevs -b x >/dev/null 2>&1 && vhd_fail "failed create left bdev x"

[ "$(call bdev_rbd_create '{"name":"r0","cluster_name":"c0","pool_name":"rbd","rbd_name":"img0","block_size":512}')" = '"r0"' ] ||
	vhd_fail "create r0"
[ "$(num_blocks r0)" = 65536 ] || vhd_fail "r0 num_blocks $(num_blocks r0)"
expect_err 'already exists' bdev_rbd_create '{"name":"r0","cluster_name":"c0","pool_name":"rbd","rbd_name":"img1","block_size":512}'
expect_err 'in use' bdev_rbd_unregister_cluster '{"name":"c0"}'

# resize by RPC (MiB); shrinking is refused
call bdev_rbd_resize '{"name":"r0","new_size":48}' >/dev/null
[ "$(num_blocks r0)" = 98304 ] || vhd_fail "after resize: $(num_blocks r0)"
expect_err 'new_size' bdev_rbd_resize '{"name":"r0","new_size":16}'
expect_err 'No such device' bdev_rbd_resize '{"name":"nope","new_size":64}'
# resize by another client: the update watch turns it into a bdev resize
rbd_cli resize --size 64M rbd/img0 >/dev/null 2>&1 || vhd_fail "rbd resize"
for i in $(seq 1 300); do
	[ "$(num_blocks r0)" = 131072 ] && break
	sleep 0.1
done
[ "$(num_blocks r0)" = 131072 ] || vhd_fail "external resize not seen: $(num_blocks r0)"
echo "resize by RPC and by another client: ok"

# private connection (no cluster_name): user_id + config map
key=$(awk '/key = / {print $3}' "$VHD_CEPH/keyring")
mon=$(awk -F' = ' '/^mon host/ {print $2}' "$conf")
call bdev_rbd_create "{\"name\":\"r1\",\"user_id\":\"admin\",\"pool_name\":\"rbd\",\"rbd_name\":\"img1\",\"block_size\":4096,\"config\":{\"mon_host\":\"$mon\",\"key\":\"$key\"}}" >/dev/null
[ "$(num_blocks r1)" = 4096 ] || vhd_fail "r1 num_blocks $(num_blocks r1)"

cfg=$(vhd_rpc save_config)
echo "$cfg" | python3 -c '
import json, sys
c = json.load(sys.stdin)
bdev = [s for s in c["subsystems"] if s["subsystem"] == "bdev"][0]["config"]
m = [e["method"] for e in bdev]
assert m.index("bdev_rbd_register_cluster") < m.index("bdev_rbd_create"), m
r = [e["params"] for e in bdev if e["method"] == "bdev_rbd_create"]
assert {p["name"] for p in r} == {"r0", "r1"}, r
assert [p for p in r if p["name"] == "r1"][0]["config"]["mon_host"], r
' || vhd_fail "save_config: $cfg"

# data path: vhost-perf --verify through vhost-blk on each
for b in r0 r1; do
	call vhost_create_blk_controller "{\"ctrlr\":\"$b.s\",\"dev_name\":\"$b\"}" >/dev/null
	out=$(perf -s "$VHD_DIR/$b.s" --queues 2 -w randrw -q 16 -T 2 --verify --size 8M 2>&1) ||
		vhd_fail "$b verify: $out"
	echo "$b: verify ok ($(echo "$out" | awk '/^total/ {print $2 " IOPS"}'))"
	call vhost_delete_controller "{\"ctrlr\":\"$b.s\"}" >/dev/null
done

call bdev_rbd_delete '{"name":"r0"}' >/dev/null
call bdev_rbd_delete '{"name":"r1"}' >/dev/null
expect_err 'No such device' bdev_rbd_delete '{"name":"r0"}'
call bdev_rbd_unregister_cluster '{"name":"c0"}' >/dev/null
expect_err 'not found' bdev_rbd_unregister_cluster '{"name":"c0"}'
vhd_rpc spdk_get_version >/dev/null || vhd_fail "daemon not serving"
vhd_stop || vhd_fail "vhostd exit code $?"
echo "PASS"

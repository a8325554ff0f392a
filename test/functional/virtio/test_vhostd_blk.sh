#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhostd's vhost-blk target driven by lib/virtio, no VM:
#  - vhost-perf --verify over malloc, 1 and 2 queues, split and packed rings,
#    busy-poll and --wait, while other controllers are created and deleted
#    over RPC (churn);
#  - null bdev I/O at QD 1/32/128 without errors;
#  - virtio-check conformance + hostile-guest requests, split and packed.
# Skips while vhostd lacks the RPCs (another area builds them).
. "$(dirname "$0")/../lib/daemon.sh"
set -u
VPERF=$VHD_BUILD_DIR/app/vhost-perf/vhost-perf
VCHECK=$VHD_BUILD_DIR/app/vhost-perf/virtio-check
[ -x "$VPERF" ] && [ -x "$VCHECK" ] || vhd_skip "vhost-perf/virtio-check not built (run make)"

vhd_start -m 0x1
methods=$(vhd_rpc rpc_get_methods)
for m in bdev_malloc_create bdev_null_create vhost_create_blk_controller vhost_delete_controller; do
	echo "$methods" | grep -q "\"$m\"" || vhd_skip "vhostd has no $m RPC yet"
done
vhd_rpc call bdev_malloc_create '{"name":"mal0","num_blocks":65536,"block_size":512}' >/dev/null || vhd_fail "malloc"
vhd_rpc call bdev_null_create '{"name":"null0","num_blocks":2097152,"block_size":512}' >/dev/null || vhd_fail "null"
vhd_rpc call vhost_create_blk_controller '{"ctrlr":"split.0","dev_name":"mal0"}' >/dev/null || vhd_fail "split ctrlr"
vhd_rpc call vhost_create_blk_controller '{"ctrlr":"packed.0","dev_name":"mal0","packed_ring":true}' >/dev/null || vhd_fail "packed ctrlr"
vhd_rpc call vhost_create_blk_controller '{"ctrlr":"null.0","dev_name":"null0"}' >/dev/null || vhd_fail "null ctrlr"

perf() {
	timeout -k 5 120 "$VPERF" "$@"
}

# RPC churn in the background: other controllers come and go during I/O
churn() {
	local i=0
	while [ -f "$VHD_DIR/churn" ]; do
		vhd_rpc call vhost_create_blk_controller "{\"ctrlr\":\"churn.$i\",\"dev_name\":\"null0\"}" >/dev/null 2>&1
		vhd_rpc call vhost_delete_controller "{\"ctrlr\":\"churn.$i\"}" >/dev/null 2>&1
		i=$((i + 1))
	done
	echo "$i" >"$VHD_DIR/churn.count"
}
touch "$VHD_DIR/churn"
churn &
churn_pid=$!

for ring in split packed; do
	flag=
	[ $ring = packed ] && flag=--packed
	for nq in 1 2; do
		for mode in "" --wait; do
			out=$(perf -s "$VHD_DIR/$ring.0" $flag --queues $nq -w randrw -q 16 -T 1 --verify --size 16M $mode 2>&1) ||
				vhd_fail "verify $ring queues=$nq $mode: $out"
		done
	done
	out=$(perf -s "$VHD_DIR/$ring.0" $flag -w write -o 65536 -q 4 -T 1 --verify --size 16M 2>&1) ||
		vhd_fail "verify 64k $ring: $out"
	echo "$ring ok"
done
rm -f "$VHD_DIR/churn"
wait $churn_pid
echo "controllers churned during I/O: $(cat "$VHD_DIR/churn.count")"

for qd in 1 32 128; do
	out=$(perf -s "$VHD_DIR/null.0" --queues 2 -w randrw -q $qd -T 1 2>&1) || vhd_fail "null qd=$qd: $out"
done

out=$(timeout -k 5 300 "$VCHECK" -s "$VHD_DIR/split.0" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || vhd_fail "virtio-check split exited $rc"
out=$(timeout -k 5 300 "$VCHECK" -s "$VHD_DIR/packed.0" --packed 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || vhd_fail "virtio-check packed exited $rc"
kill -0 "$VHD_PID" || vhd_fail "vhostd died"
echo PASS

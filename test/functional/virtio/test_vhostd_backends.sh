#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-perf --verify through vhostd's vhost-blk over every backend: malloc,
# aio, uring (files), delay (over malloc), error (over malloc) - split and
# packed rings, 2 queues. Then the error bdev injects faults and vhost-perf
# must see them: write/read failures exit 1 with I/O errors reported, and
# corrupted reads (corrupt_data) must be caught by --verify as mismatches.
. "$(dirname "$0")/../lib/daemon.sh"
set -u
VPERF=$VHD_BUILD_DIR/app/vhost-perf/vhost-perf
[ -x "$VPERF" ] || vhd_skip "vhost-perf not built (run make)"

vhd_start -m 0x1
methods=$(vhd_rpc rpc_get_methods)
need() {
	echo "$methods" | grep -q "\"$1\""
}
need vhost_create_blk_controller || vhd_skip "vhostd has no vhost_create_blk_controller RPC yet"
call() {
	vhd_rpc call "$@" >/dev/null || vhd_fail "rpc $*"
}
perf() {
	timeout -k 5 120 "$VPERF" "$@"
}

backends=()
call bdev_malloc_create '{"name":"mal0","num_blocks":65536,"block_size":512}'
backends+=(mal0)
if need bdev_aio_create; then
	truncate -s 32M "$VHD_DIR/aio.img"
	call bdev_aio_create "{\"name\":\"aio0\",\"filename\":\"$VHD_DIR/aio.img\",\"block_size\":512}"
	backends+=(aio0)
fi
if need bdev_uring_create; then
	truncate -s 32M "$VHD_DIR/uring.img"
	if vhd_rpc call bdev_uring_create "{\"name\":\"uring0\",\"filename\":\"$VHD_DIR/uring.img\"}" >/dev/null 2>&1; then
		backends+=(uring0)
	else
		echo "uring: bdev_uring_create failed (io_uring unavailable?), not tested"
	fi
fi
if need bdev_delay_create; then
	call bdev_malloc_create '{"name":"mal1","num_blocks":65536,"block_size":512}'
	call bdev_delay_create '{"base_bdev_name":"mal1","name":"delay0","avg_read_latency":100,"p99_read_latency":500,"avg_write_latency":200,"p99_write_latency":1000}'
	backends+=(delay0)
fi
if need bdev_error_create; then
	call bdev_malloc_create '{"name":"mal2","num_blocks":65536,"block_size":512}'
	call bdev_error_create '{"base_name":"mal2"}'
	backends+=(EE_mal2)
fi

for b in "${backends[@]}"; do
	call vhost_create_blk_controller "{\"ctrlr\":\"$b.s\",\"dev_name\":\"$b\"}"
	call vhost_create_blk_controller "{\"ctrlr\":\"$b.p\",\"dev_name\":\"$b\",\"packed_ring\":true}"
	out=$(perf -s "$VHD_DIR/$b.s" --queues 2 -w randrw -q 16 -T 1 --verify --size 4M 2>&1) ||
		vhd_fail "$b split: $out"
	out=$(perf -s "$VHD_DIR/$b.p" --packed --queues 2 -w randrw -q 16 -T 1 --verify --size 4M 2>&1) ||
		vhd_fail "$b packed: $out"
	echo "$b: verify split+packed ok ($(echo "$out" | awk '/^total/ {print $2 " IOPS"}'))"
done

if need bdev_error_inject_error; then
	# fail 5 writes: exit 1 and "I/O errors" reported, the rest continue
	call bdev_error_inject_error '{"name":"EE_mal2","io_type":"write","error_type":"failure","num":5}'
	out=$(perf -s "$VHD_DIR/EE_mal2.s" -w randwrite -q 8 -T 1 2>&1)
	rc=$?
	[ $rc -eq 1 ] || vhd_fail "injected write failures: exit $rc: $out"
	echo "$out" | grep -q 'write at byte offset .* failed: status 1' || vhd_fail "no failed write reported: $out"
	echo "$out" | grep -Eq 'vhost-perf: 5 I/O errors' || vhd_fail "expected exactly 5 I/O errors: $out"
	# corrupt reads: --verify must catch every corrupted block
	call bdev_error_inject_error '{"name":"EE_mal2","io_type":"clear","error_type":"clear"}'
	perf -s "$VHD_DIR/EE_mal2.s" --verify-fill --seed 5 -q 8 --size 4M >/dev/null 2>&1 || vhd_fail "fill"
	call bdev_error_inject_error '{"name":"EE_mal2","io_type":"read","error_type":"corrupt_data","num":3,"corrupt_offset":100,"corrupt_value":7}'
	out=$(perf -s "$VHD_DIR/EE_mal2.s" --verify-check --seed 5 -q 8 --size 4M 2>&1)
	rc=$?
	[ $rc -eq 1 ] || vhd_fail "corrupt_data: exit $rc: $out"
	echo "$out" | grep -q 'MISMATCH lba' || vhd_fail "corruption not detected: $out"
	out=$(perf -s "$VHD_DIR/EE_mal2.s" --verify-check --seed 5 -q 8 --size 4M 2>&1) ||
		vhd_fail "data itself was fine, a clean re-read must pass: $out"
	echo "error injection: failures and corruption detected"
fi
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Expected failure: fill a region with tagged blocks, corrupt two known blocks
# of the backing file out of band, and --verify-check must report exactly
# those LBAs and exit 1; an untouched region must check clean.
. "$(dirname "$0")/qsd.sh"
set -u

qsd_start file 2
vperf --queues 2 --verify-fill --seed 42 -q 16 --size 8M >/dev/null 2>&1 || vt_fail "verify-fill"
out=$(vperf --queues 2 --verify-check --seed 42 -q 16 --size 8M 2>&1) || vt_fail "clean check failed: $out"
# wrong seed: every block must mismatch
out=$(vperf --verify-check --seed 43 -q 16 --size 8M 2>&1) && vt_fail "wrong seed passed: $out"
echo "$out" | grep -q 'mismatched blocks' || vt_fail "no mismatch summary: $out"
# corrupt sectors 777 and 12000 (512-byte blocks) behind the server's back
dd if=/dev/urandom of="$QSD_DIR/disk.img" bs=512 seek=777 count=1 conv=notrunc status=none
printf 'X' | dd of="$QSD_DIR/disk.img" bs=1 seek=$((12000 * 512 + 300)) conv=notrunc status=none
out=$(vperf --queues 2 --verify-check --seed 42 -q 16 --size 8M 2>&1)
rc=$?
[ $rc -eq 1 ] || vt_fail "corrupted check exited $rc: $out"
echo "$out" | grep -q 'MISMATCH lba 777 ' || vt_fail "lba 777 not reported: $out"
echo "$out" | grep -q 'MISMATCH lba 12000 .*payload differs' || vt_fail "lba 12000 not reported: $out"
[ "$(echo "$out" | grep -c 'MISMATCH lba')" -eq 2 ] || vt_fail "expected exactly 2 mismatches: $out"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The e2e harness must not pass broken runs: this checks, without booting,
# that every check it relies on fails when it should — a corrupted or
# misplaced region in a backing file, too few regions, a FAIL line, a missing
# VHD-DONE, no PASS at all, a QEMU that never exits (killed by PID within its
# bound), a guest that hangs (its watchdog reports and resets it) — that
# vmlinux extraction finds a compressed ELF behind junk and refuses an image
# without one, and that modules load after their deps.
set -u
. "$(dirname "$0")/lib/common.sh"
e2e_init
E2E_SERVER=none
T=$E2E_TMP
tool=$E2E_VHD_TOOL

expect_ok()
{
	local what=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		e2e_ok "$what"
	else
		e2e_fail "$what: expected success"
		cat "$T/out" >&2
	fi
}

expect_fail()
{
	local what=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		e2e_fail "$what: expected a failure"
		cat "$T/out" >&2
	else
		e2e_ok "$what"
	fi
}

# vhd-tool: the pattern depends on seed and absolute offset.
f=$T/disk.img
truncate -s $((8 << 20)) "$f"
export VHD_TOOL_BUFFERED=1
expect_ok "vhd-tool write" "$tool" write "$f" 4096 $((1 << 20)) 7 65536
expect_ok "vhd-tool verify the same region" "$tool" verify "$f" 4096 $((1 << 20)) 7
expect_ok "vhd-tool verify a sub-range" "$tool" verify "$f" 8192 4096 7
expect_fail "vhd-tool verify, other seed" "$tool" verify "$f" 4096 4096 8
"$tool" write "$f" $((3 << 20)) 4096 9 >/dev/null
expect_fail "vhd-tool verify, region 512 bytes off" "$tool" verify "$f" $(((3 << 20) - 512)) 4096 9
expect_ok "vhd-tool seed 0 = zeroes" "$tool" verify "$f" $((4 << 20)) 4096 0
expect_fail "vhd-tool seed 0 on data" "$tool" verify "$f" 4096 4096 0
expect_fail "vhd-tool bad number" "$tool" verify "$f" 4x 4096 7
expect_fail "vhd-tool unknown command" "$tool" frob
expect_fail "vhd-tool missing file" "$tool" verify "$T/nope" 0 4096 7
printf '\xff' | dd of="$f" bs=1 seek=$((4096 + 777)) conv=notrunc status=none
expect_fail "vhd-tool detects one flipped byte" "$tool" verify "$f" 4096 $((1 << 20)) 7
unset VHD_TOOL_BUFFERED

# e2e_verify_host: regions reported by the guest, checked in the file.
g=$T/good.img
truncate -s $((8 << 20)) "$g"
VHD_TOOL_BUFFERED=1 "$tool" write "$g" 0 65536 3
VHD_TOOL_BUFFERED=1 "$tool" write "$g" $((1 << 20)) 65536 4
printf 'VHD-PATTERN: 0 65536 3\r\nnoise\nVHD-PATTERN: 1048576 65536 4\r\n' >"$T/g.log"
printf 'VHD-PATTERN: 0 0 65536 3\nVHD-PATTERN: 1 0 65536 4\n' >"$T/s.log"
verify_host() { (E2E_FAILS=0 && e2e_verify_host "$@" && [ $E2E_FAILS -eq 0 ]); }
expect_ok "verify_host, both regions" verify_host "$T/g.log" "$g" 2
expect_fail "verify_host, fewer regions than required" verify_host "$T/g.log" "$g" 3
expect_fail "verify_host, wrong file" verify_host "$T/g.log" "$f" 1
expect_ok "verify_host, target 0 of a scsi log" verify_host "$T/s.log" "$g" 1 0
expect_fail "verify_host, target 1 region elsewhere" verify_host "$T/s.log" "$g" 1 1
printf '\x00' | dd of="$g" bs=1 seek=$(((1 << 20) + 100)) conv=notrunc status=none
expect_fail "verify_host, a corrupted region" verify_host "$T/g.log" "$g" 2

# e2e_guest_verdict: the console result protocol.
printf 'VHD-RESULT: PASS a\r\nVHD-DONE fails=0\r\n' >"$T/v1"
printf 'VHD-RESULT: PASS a\nVHD-RESULT: FAIL b\nVHD-DONE\n' >"$T/v2"
printf 'VHD-RESULT: PASS a\n' >"$T/v3"
printf 'VHD-DONE\n' >"$T/v4"
printf 'VHD-RESULT: PASS a\n[ 1.0] x VHD-RESULT: FAIL interleaved\nVHD-DONE\n' >"$T/v5"
expect_ok "verdict: PASS + DONE" e2e_guest_verdict "$T/v1"
expect_fail "verdict: a FAIL line" e2e_guest_verdict "$T/v2"
expect_fail "verdict: no VHD-DONE (guest died)" e2e_guest_verdict "$T/v3"
expect_fail "verdict: no PASS at all" e2e_guest_verdict "$T/v4"
expect_fail "verdict: FAIL not at line start" e2e_guest_verdict "$T/v5"

# e2e_qemu_wait: bounded, kills by PID.
sleep 60 &
pid=$!
start=$SECONDS
expect_fail "qemu_wait kills a process past its bound" e2e_qemu_wait $pid 1
kill -0 $pid 2>/dev/null && e2e_fail "process $pid still alive"
[ $((SECONDS - start)) -le 5 ] || e2e_fail "qemu_wait took $((SECONDS - start)) s for a 1 s bound"
(exit 3) &
expect_ok "qemu_wait returns for an exited process" e2e_qemu_wait $! 5

# extract_vmlinux: compressed ELF after junk; no ELF inside -> error.
"$E2E_PY" - "$T" <<'PY'
import gzip, lzma, os, sys
t = sys.argv[1]
elf = b"\x7fELF" + os.urandom(5000)
with open(os.path.join(t, "bz-gz"), "wb") as f:
    f.write(os.urandom(3000).replace(b"\x1f\x8b", b"xx") + gzip.compress(elf) + b"tail")
with open(os.path.join(t, "bz-xz"), "wb") as f:
    f.write(b"MZ" + bytes(2000) + lzma.compress(elf, format=lzma.FORMAT_XZ) + bytes(100))
with open(os.path.join(t, "bz-none"), "wb") as f:
    f.write(b"MZ" + gzip.compress(b"not an elf" * 100))
with open(os.path.join(t, "elf"), "wb") as f:
    f.write(elf)
PY
expect_ok "extract_vmlinux gzip" "$E2E_PY" "$E2E_LIB/extract_vmlinux.py" "$T/bz-gz" "$T/o1"
expect_ok "extract_vmlinux gzip: right bytes" cmp "$T/o1" "$T/elf"
expect_ok "extract_vmlinux xz" "$E2E_PY" "$E2E_LIB/extract_vmlinux.py" "$T/bz-xz" "$T/o2"
expect_ok "extract_vmlinux xz: right bytes" cmp "$T/o2" "$T/elf"
expect_fail "extract_vmlinux: no ELF inside" "$E2E_PY" "$E2E_LIB/extract_vmlinux.py" \
	"$T/bz-none" "$T/o3"
[ -e "$T/o3" ] && e2e_fail "extract_vmlinux left an output file after failing"

# Module order of the real kernel: every module after its dependencies.
order=$(e2e_module_order "$E2E_CACHE_DIR/root/lib/modules/$E2E_KVER" "$E2E_MODULES")
pos() { grep -n "/$1.ko" <<<"$order" | head -n 1 | cut -d: -f1; }
for pair in virtio_ring:virtio virtio:virtio_blk virtio_ring:virtio_blk virtio_pci_modern_dev:virtio_pci \
	scsi_common:scsi_mod scsi_mod:sd_mod scsi_mod:virtio_scsi jbd2:ext4 mbcache:ext4; do
	a=$(pos "${pair%%:*}")
	b=$(pos "${pair##*:}")
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then
		e2e_ok "module order: ${pair%%:*} before ${pair##*:}"
	else
		e2e_fail "module order: ${pair%%:*} ($a) must precede ${pair##*:} ($b)"
	fi
done
grep -q 'scsi_mod.ko:scan=sync' <<<"$order" || e2e_fail "scsi_mod lost its scan=sync parameter"
expect_fail "module order: unknown module" e2e_module_order \
	"$E2E_CACHE_DIR/root/lib/modules/$E2E_KVER" "no_such_module"

# The guest watchdog: a guest test that hangs is reported (FAIL) and the
# guest goes down by itself, long before the host's bound.
log=$T/hang.log
E2E_GUEST_TIMEOUT=8 e2e_qemu_start "$log" hang ""
e2e_qemu_wait "$E2E_QEMU_PID" 240
if [ "$E2E_QEMU_STATUS" = killed ]; then
	e2e_fail "guest watchdog: QEMU had to be killed by the host"
elif grep -a -q 'VHD-RESULT: FAIL guest watchdog fired' "$log" && grep -a -q '^VHD-DONE' "$log"; then
	e2e_ok "guest watchdog fired, reported, QEMU exited by itself"
else
	e2e_fail "guest watchdog: no report in $log"
	tail -n 20 "$log" >&2
fi
expect_fail "verdict of a hung guest" e2e_guest_verdict "$log"

e2e_finish

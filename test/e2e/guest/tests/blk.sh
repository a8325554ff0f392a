# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the vhost-user-blk tests (sourced by /init). Kernel command
# line parameters (vhd.NAME=VALUE):
#   size=BYTES     expected disk size (required)
#   nq=N           expected number of hardware queues (/sys/block/vda/mq)
#   packed=1       the packed ring (VIRTIO_F_RING_PACKED, bit 34) must have
#                  been negotiated (QEMU silently falls back to split if the
#                  server does not offer it)
#   mode=full      size, queues, O_DIRECT patterns, write-zeroes, discard, ext4
#   mode=io        size, queues, O_DIRECT patterns (incl. one writer per CPU)
#   mode=ro        read-only disk: reads the host's pattern, every write fails
#   mode=resize    as io, then waits for the disk to grow to vhd.newsize
#   mode=reboot    first boot: write + mark, reset; second boot: check, as io
#   mode=loop      O_DIRECT write/verify forever (the host kills QEMU)
# Every region written and read back is reported as "VHD-PATTERN: OFF LEN SEED"
# so the host can check the backing file afterwards.
#
# Layout of the disk (>= 64 MiB): ext4 in [0, 32M), patterns in [40M, 64M).
M=1048576
dev=/dev/vda
tool=/bin/vhd-tool
vhd_mode=${vhd_mode:-full}

# pat OFF LEN SEED [BS]: write with O_DIRECT, read back, report the region.
pat()
{
	if $tool write $dev "$@" && $tool verify $dev "$@"; then
		echo "VHD-PATTERN: $1 $2 $3"
		return 0
	fi
	vhd_fail "pattern off=$1 len=$2 seed=$3 bs=${4:-default}"
	return 1
}

blk_basics()
{
	if ! vhd_wait_for $dev 20; then
		vhd_fail "no $dev after 20 s"
		ls /sys/block /dev >&2
		return 1
	fi
	vhd_pass "$dev present"
	local sz
	sz=$(blockdev --getsize64 $dev)
	if [ "$sz" = "${vhd_size:-unset}" ]; then
		vhd_pass "size $sz bytes"
	else
		vhd_fail "size: guest sees $sz bytes, host made ${vhd_size:-unset}"
	fi
	if [ -n "${vhd_nq:-}" ]; then
		local nq
		nq=$(ls /sys/block/vda/mq | wc -l)
		if [ "$nq" = "$vhd_nq" ]; then
			vhd_pass "$nq hardware queues"
		else
			vhd_fail "queues: guest has $nq, expected $vhd_nq"
		fi
	fi
	# Negotiated feature bits, one character per bit, bit 0 first.
	local feat
	feat=$(cat /sys/block/vda/device/features 2>/dev/null)
	if [ "${vhd_packed:-0}" = 1 ]; then
		if [ "${feat:34:1}" = 1 ]; then
			vhd_pass "packed ring negotiated"
		else
			vhd_fail "packed ring not negotiated (features $feat)"
		fi
	fi
}

# Many offsets and sizes, aligned and not to 4K, single and multi-request,
# at the start and the end of the pattern area and at the very end of the disk.
blk_patterns()
{
	local base=$((40 * M)) end=$vhd_size ok=1 cpu ncpu pids p
	pat $base 512 1 512 || ok=0
	pat $((base + 1024)) 1536 3 512 || ok=0
	pat $((base + 4096)) 4096 2 4096 || ok=0
	pat $((base + 65536 + 512)) $((65536 + 512)) 4 8192 || ok=0
	pat $((base + M)) $M 5 $M || ok=0
	pat $((base + 2 * M + 1536)) $((3 * M)) 6 131072 || ok=0
	pat $((base + 6 * M)) $((4 * M)) 7 $((4 * M)) || ok=0
	pat $((end - 65536)) 65536 8 4096 || ok=0
	# One writer per CPU at once: with several queues each CPU has its own.
	ncpu=$(nproc)
	pids=
	for cpu in $(seq 0 $((ncpu - 1))); do
		taskset -c $cpu $tool write $dev $((base + 16 * M + cpu * M)) $M $((20 + cpu)) 65536 &
		pids="$pids $!"
	done
	for p in $pids; do
		wait $p || ok=0
	done
	for cpu in $(seq 0 $((ncpu - 1))); do
		if $tool verify $dev $((base + 16 * M + cpu * M)) $M $((20 + cpu)); then
			echo "VHD-PATTERN: $((base + 16 * M + cpu * M)) $M $((20 + cpu))"
		else
			ok=0
			vhd_fail "parallel writer on cpu $cpu"
		fi
	done
	[ $ok = 1 ] && vhd_pass "O_DIRECT patterns at many offsets and sizes, $ncpu parallel writers"
}

blk_reverify()
{
	# Re-read every region reported so far (from our own console log copy).
	local off len seed bad=0
	while read -r _ off len seed; do
		$tool verify $dev "$off" "$len" "$seed" || bad=$((bad + 1))
	done </tmp/patterns
	if [ $bad = 0 ]; then
		vhd_pass "all regions re-read intact"
	else
		vhd_fail "$bad regions changed after later writes"
	fi
}

blk_discard()
{
	local off=$((51 * M)) dmax
	# Write zeroes (blkdiscard -z): the region must read back as zeroes.
	if $tool write $dev $off $M 9 && /usr/bin/blkdiscard -z -o $off -l $M $dev &&
		$tool verify $dev $off $M 0; then
		echo "VHD-PATTERN: $off $M 0"
		vhd_pass "write-zeroes"
	else
		vhd_fail "write-zeroes (blkdiscard -z)"
	fi
	dmax=$(cat /sys/block/vda/queue/discard_max_bytes)
	if [ "$dmax" -gt 0 ]; then
		vhd_check "discard (max $dmax bytes)" /usr/bin/blkdiscard -o $((53 * M)) -l $((2 * M)) $dev
	else
		vhd_fail "device offers no discard (discard_max_bytes 0)"
	fi
}

blk_ext4()
{
	local i
	if ! /usr/bin/mke2fs -q -F -t ext4 $dev 32M; then
		vhd_fail "mkfs.ext4"
		return
	fi
	if ! mount -t ext4 $dev /mnt; then
		vhd_fail "mount ext4"
		return
	fi
	for i in 1 2 3 4 5 6 7 8; do
		dd if=/dev/urandom of=/mnt/file$i bs=4096 count=$((i * i * 8)) 2>/dev/null
	done
	mkdir /mnt/dir && cp /mnt/file3 /mnt/dir/copy
	(cd /mnt && sha256sum file* dir/copy) >/tmp/sums
	umount /mnt || vhd_fail "umount"
	echo 3 >/proc/sys/vm/drop_caches
	if mount -t ext4 -o ro $dev /mnt && (cd /mnt && sha256sum -c -s /tmp/sums); then
		vhd_pass "ext4: $(wc -l </tmp/sums) files written, remounted, checksums match"
	else
		vhd_fail "ext4 checksums after remount"
	fi
	umount /mnt
	vhd_check "e2fsck -f -n clean" /usr/bin/e2fsck -f -n $dev
}

blk_ro()
{
	local ro
	ro=$(blockdev --getro $dev)
	[ "$ro" = 1 ] && vhd_pass "read-only flag set" || vhd_fail "read-only flag is '$ro'"
	# The host wrote seed 42 at [40M, 41M) before boot.
	vhd_check "reads the host's data" $tool verify $dev $((40 * M)) $M 42
	vhd_check_fails "O_DIRECT write fails" $tool write $dev $((42 * M)) 4096 43
	vhd_check_fails "buffered write + fsync fails" dd if=/dev/zero of=$dev bs=4096 count=1 \
		seek=$((44 * M / 4096)) conv=fsync,notrunc
	vhd_check_fails "mkfs fails" /usr/bin/mke2fs -q -F -t ext4 $dev 8M
	vhd_check "host data unchanged" $tool verify $dev $((40 * M)) $M 42
}

blk_resize()
{
	local want=$((vhd_newsize / 512)) deadline=$(($(vhd_now) + 60)) now
	echo "VHD-WAIT-RESIZE"
	while [ "$(cat /sys/block/vda/size)" != "$want" ]; do
		if [ "$(vhd_now)" -ge $deadline ]; then
			vhd_fail "resize: still $(cat /sys/block/vda/size) sectors after 60 s, want $want"
			return
		fi
		usleep 100000
	done
	now=$(blockdev --getsize64 $dev)
	[ "$now" = "$vhd_newsize" ] && vhd_pass "resize seen: $now bytes" ||
		vhd_fail "resize: sysfs ok but BLKGETSIZE64 says $now"
	pat $((vhd_newsize - 2 * M)) $((2 * M)) 31 65536 && vhd_pass "I/O in the grown area"
}

blk_main()
{
	case $vhd_mode in
	loop)
		vhd_wait_for $dev 20 || { vhd_fail "no $dev"; return; }
		vhd_pass "$dev present, starting endless I/O"
		$tool loop $dev $((40 * M)) $((8 * M)) 100 65536
		vhd_fail "I/O loop ended"
		return
		;;
	esac
	blk_basics || return
	case $vhd_mode in
	reboot)
		if $tool verify $dev $((62 * M)) 4096 777 2>/dev/null; then
			vhd_pass "second boot: marker found"
			vhd_check "data written before the reboot intact" $tool verify $dev $((60 * M)) $M 21
			echo "VHD-PATTERN: $((60 * M)) $M 21"
		else
			pat $((60 * M)) $M 21 && pat $((62 * M)) 4096 777 &&
				vhd_pass "first boot: data + marker written, rebooting"
			vhd_reboot
		fi
		;;
	ro)
		blk_ro
		return
		;;
	esac
	blk_patterns | tee /tmp/patterns.out
	grep '^VHD-PATTERN' /tmp/patterns.out >/tmp/patterns
	grep -q 'VHD-RESULT: FAIL' /tmp/patterns.out && vhd_nfail=$((vhd_nfail + 1))
	case $vhd_mode in
	full)
		blk_discard
		blk_reverify
		blk_ext4
		;;
	resize)
		blk_resize
		;;
	*)
		blk_reverify
		;;
	esac
}

blk_main

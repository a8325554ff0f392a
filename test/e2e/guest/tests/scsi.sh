# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the virtio-scsi tests (sourced by /init). Kernel command line
# parameters (vhd.NAME=VALUE):
#   size=BYTES      expected size of every disk (required)
#   ntargets=N      expected number of disks at boot (target ids 0..N-1)
#   pr=1            also test SCSI-3 persistent reservations (sg_persist)
#   hotplug=1       after the checks: print VHD-WAIT-HOTADD, wait for one more
#                   disk (target id = ntargets), use it; print
#                   VHD-WAIT-HOTREMOVE, wait until target 1 is gone while
#                   doing I/O on target 0, which must not be disturbed
# Disks are found through /sys/class/scsi_disk/H:C:T:L (sorted by target);
# regions written are reported as "VHD-PATTERN: T OFF LEN SEED" (T = target).
M=1048576
tool=/bin/vhd-tool

# scsi_dev T: the /dev/sdX of target T (LUN 0), empty if none.
scsi_dev()
{
	local d
	for d in /sys/class/scsi_disk/*:*:"$1":0; do
		[ -d "$d/device/block" ] || continue
		echo "/dev/$(ls "$d/device/block" | head -n 1)"
		return 0
	done
	return 1
}

scsi_ndisks()
{
	ls /sys/class/scsi_disk 2>/dev/null | wc -l
}

# spat T DEV OFF LEN SEED [BS]: O_DIRECT write + read back, report the region.
spat()
{
	local t=$1 d=$2
	shift 2
	if $tool write "$d" "$@" && $tool verify "$d" "$@"; then
		echo "VHD-PATTERN: $t $1 $2 $3"
		return 0
	fi
	vhd_fail "target $t pattern off=$1 len=$2 seed=$3"
	return 1
}

# scsi_wait_ndisks N SECONDS: poll (bounded) until there are N disks.
scsi_wait_ndisks()
{
	local deadline=$(($(vhd_now) + $2))
	while [ "$(scsi_ndisks)" != "$1" ]; do
		[ "$(vhd_now)" -ge $deadline ] && return 1
		usleep 100000
	done
	return 0
}

# scsi_wait_dev T SECONDS: the /dev/sdX of target T once its block device and
# node exist (they follow the scsi_disk entry, seconds later on a loaded host).
scsi_wait_dev()
{
	local deadline=$(($(vhd_now) + $2)) d
	while :; do
		d=$(scsi_dev "$1") && [ -b "$d" ] && echo "$d" && return 0
		[ "$(vhd_now)" -ge $deadline ] && return 1
		usleep 100000
	done
}

scsi_discovery()
{
	if scsi_wait_ndisks "${vhd_ntargets:-1}" 30; then
		vhd_pass "${vhd_ntargets:-1} disks discovered"
	else
		vhd_fail "discovery: $(scsi_ndisks) disks, expected ${vhd_ntargets:-1}"
		ls /sys/class/scsi_disk >&2
	fi
}

scsi_inquiry()
{
	local d=$1 p sz
	vhd_check "sg_inq" /usr/bin/sg_inq "$d"
	for p in 0x00 0x80 0x83 0xb0 0xb1 0xb2; do
		vhd_check "sg_vpd page $p" /usr/bin/sg_vpd -p $p "$d"
	done
	vhd_check "sg_readcap -l" /usr/bin/sg_readcap -l "$d"
	sz=$(blockdev --getsize64 "$d")
	[ "$sz" = "$vhd_size" ] && vhd_pass "size $sz bytes" ||
		vhd_fail "size: guest sees $sz bytes, host made $vhd_size"
	vhd_check "sg_luns" /usr/bin/sg_luns "$d"
	vhd_check "sg_turs" /usr/bin/sg_turs "$d"
}

scsi_patterns()
{
	local d=$1 base=$((40 * M)) ok=1
	spat 0 "$d" $base 512 1 512 || ok=0
	spat 0 "$d" $((base + 1024)) 1536 3 512 || ok=0
	spat 0 "$d" $((base + 4096)) 4096 2 4096 || ok=0
	spat 0 "$d" $((base + 65536 + 512)) $((65536 + 512)) 4 8192 || ok=0
	spat 0 "$d" $((base + M)) $M 5 $M || ok=0
	spat 0 "$d" $((base + 2 * M + 1536)) $((3 * M)) 6 131072 || ok=0
	spat 0 "$d" $((base + 6 * M)) $((4 * M)) 7 $((4 * M)) || ok=0
	spat 0 "$d" $((vhd_size - 65536)) 65536 8 4096 || ok=0
	[ $ok = 1 ] && vhd_pass "O_DIRECT patterns at many offsets and sizes"
}

scsi_commands()
{
	local d=$1 lba
	# WRITE SAME (zeroes) over a written region: it must read back as zeroes.
	lba=$((51 * M / 512))
	if $tool write "$d" $((51 * M)) 65536 9 &&
		/usr/bin/sg_write_same --lba=$lba --num=128 "$d" &&
		$tool verify "$d" $((51 * M)) 65536 0; then
		echo "VHD-PATTERN: 0 $((51 * M)) 65536 0"
		vhd_pass "sg_write_same"
	else
		vhd_fail "sg_write_same (zeroes at lba $lba)"
	fi
	vhd_check "sg_unmap" /usr/bin/sg_unmap --force --lba=$((53 * M / 512)) --num=2048 "$d"
	vhd_check "sg_sync" /usr/bin/sg_sync "$d"
}

scsi_pr()
{
	local d=$1
	vhd_check "PR register" /usr/bin/sg_persist -n --out --register --param-sark=0x1234 "$d"
	if /usr/bin/sg_persist -n --in --read-keys "$d" | grep -q 0x1234; then
		vhd_pass "PR read-keys lists the key"
	else
		vhd_fail "PR read-keys does not list 0x1234"
	fi
	vhd_check "PR reserve" /usr/bin/sg_persist -n --out --reserve --param-rk=0x1234 \
		--prout-type=1 "$d"
	if /usr/bin/sg_persist -n --in --read-reservation "$d" | grep -q 0x1234; then
		vhd_pass "PR read-reservation shows the holder"
	else
		vhd_fail "PR read-reservation does not show 0x1234"
	fi
	vhd_check "PR release" /usr/bin/sg_persist -n --out --release --param-rk=0x1234 \
		--prout-type=1 "$d"
	vhd_check "PR unregister" /usr/bin/sg_persist -n --out --register --param-rk=0x1234 \
		--param-sark=0 "$d"
}

scsi_ext4()
{
	local d=$1
	if ! /usr/bin/mke2fs -q -F -t ext4 "$d" 32M || ! mount -t ext4 "$d" /mnt; then
		vhd_fail "mkfs.ext4 + mount on $d"
		return
	fi
	dd if=/dev/urandom of=/mnt/a bs=4096 count=512 2>/dev/null
	cp /mnt/a /mnt/b
	(cd /mnt && sha256sum a b) >/tmp/sums
	umount /mnt
	echo 3 >/proc/sys/vm/drop_caches
	if mount -t ext4 -o ro "$d" /mnt && (cd /mnt && sha256sum -c -s /tmp/sums); then
		vhd_pass "ext4 on $d: files survive a remount"
	else
		vhd_fail "ext4 on $d: checksums after remount"
	fi
	umount /mnt
	vhd_check "e2fsck -f -n clean" /usr/bin/e2fsck -f -n "$d"
}

scsi_hotplug()
{
	local n new d0 d1 dnew loop_pid
	n=$(scsi_ndisks)
	echo "VHD-WAIT-HOTADD"
	if scsi_wait_ndisks $((n + 1)) 60 && dnew=$(scsi_wait_dev "$vhd_ntargets" 30); then
		vhd_pass "hot-added target $vhd_ntargets appeared as $dnew without a manual rescan"
		spat "$vhd_ntargets" "$dnew" $((40 * M)) $M 41 65536 &&
			vhd_pass "I/O on the hot-added disk"
	else
		vhd_fail "hot-add: $(scsi_ndisks) disks after 60 s, expected $((n + 1))"
		return
	fi
	d0=$(scsi_dev 0)
	d1=$(scsi_dev 1) || {
		vhd_fail "no target 1 to hot-remove"
		return
	}
	# Target 0 keeps doing I/O while target 1 goes away.
	$tool write "$d0" $((56 * M)) $((4 * M)) 51 65536 &&
		$tool verify "$d0" $((56 * M)) $((4 * M)) 51 65536 &
	loop_pid=$!
	echo "VHD-WAIT-HOTREMOVE"
	if scsi_wait_ndisks $((n)) 60 && ! scsi_dev 1 >/dev/null; then
		vhd_pass "hot-removed target 1 ($d1) disappeared"
	else
		vhd_fail "hot-remove: target 1 still present after 60 s"
	fi
	if wait $loop_pid; then
		echo "VHD-PATTERN: 0 $((56 * M)) $((4 * M)) 51"
		vhd_pass "I/O on target 0 undisturbed by the hot-remove"
	else
		vhd_fail "I/O on target 0 during the hot-remove"
	fi
}

scsi_main()
{
	local d0 d1
	scsi_discovery
	d0=$(scsi_wait_dev 0 30) || {
		vhd_fail "no disk at target 0"
		return
	}
	scsi_inquiry "$d0"
	scsi_patterns "$d0"
	scsi_commands "$d0"
	[ "${vhd_pr:-0}" = 1 ] && scsi_pr "$d0"
	if [ "${vhd_ntargets:-1}" -ge 2 ] && d1=$(scsi_wait_dev 1 30); then
		scsi_ext4 "$d1"
	fi
	[ "${vhd_hotplug:-0}" = 1 ] && scsi_hotplug
}

scsi_main

# SPDX-License-Identifier: BSD-3-Clause
# Guest side of test_blk_wce.sh (sourced by /init; vhd.test=wce): the guest's
# write cache switch. /sys/block/vda/cache_type is writable only with
# VIRTIO_BLK_F_CONFIG_WCE; writing it makes virtio_blk write config `wce`, which
# QEMU forwards to the server as SET_CONFIG. Three phases of 256 O_DIRECT 4 KiB
# writes: writeback (the disk's default), writethrough, writeback again. Prints
#   VHD-WCE: wb WRITES wt WRITES wb2 WRITES flushes GUEST_FLUSHES
# (request counts from /sys/block/vda/stat) for the host to compare with the
# bdev's flush count, and VHD-PATTERN lines for the host's data check.
M=1048576
dev=/dev/vda
tool=/bin/vhd-tool
attr=/sys/block/vda/cache_type

# Completed write and flush requests of vda (fields 5 and 16 of its stat).
wce_stat()
{
	local s
	read -r s </sys/block/vda/stat
	# shellcheck disable=SC2086 # split into the stat fields
	set -- $s
	echo "$5 ${16:-0}"
}

# wce_phase OFF SEED: 256 writes of 4 KiB, read back; sets wce_n to the write requests done.
wce_phase()
{
	local before
	set -- "$1" "$2" $(wce_stat)
	before=$3
	if $tool write $dev "$1" $M "$2" 4096 && $tool verify $dev "$1" $M "$2" 4096; then
		echo "VHD-PATTERN: $1 $M $2"
	else
		vhd_fail "pattern off=$1 seed=$2"
	fi
	set -- $(wce_stat)
	wce_n=$(($1 - before))
}

# wce_expect MODE: cache_type and the queue's write_cache both say MODE.
wce_expect()
{
	local ct wc
	read -r ct <$attr
	read -r wc </sys/block/vda/queue/write_cache
	[ "$ct" = "$1" ] && [ "$wc" = "$1" ] && return 0
	echo "cache_type '$ct', queue/write_cache '$wc', expected '$1'"
	return 1
}

if ! vhd_wait_for $dev 20; then
	vhd_fail "no $dev after 20 s"
else
	echo "write cache phases" >/tmp/vhd.phase
	vhd_check "starts in write back" wce_expect "write back"
	wce_phase $((40 * M)) 11
	wb=$wce_n
	vhd_check "switch to write through" sh -c "echo 'write through' >$attr"
	vhd_check "reads write through" wce_expect "write through"
	wce_phase $((42 * M)) 12
	wt=$wce_n
	vhd_check "switch back to write back" sh -c "echo 'write back' >$attr"
	vhd_check "reads write back" wce_expect "write back"
	wce_phase $((44 * M)) 13
	wb2=$wce_n
	set -- $(wce_stat)
	echo "VHD-WCE: wb $wb wt $wt wb2 $wb2 flushes $2"
	if [ "$wb" -ge 256 ] && [ "$wt" -ge 256 ] && [ "$wb2" -ge 256 ]; then
		vhd_pass "three phases of writes"
	else
		vhd_fail "too few write requests: wb $wb wt $wt wb2 $wb2"
	fi
fi

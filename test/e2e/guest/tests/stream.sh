# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=sh disable=SC2086,SC3043
# Guest side of the reconnect/restart tests (sourced by /init): vhd.nw=N
# writers (default 4), each writing a verified stream (vhd-tool stream: sequence-
# numbered, checksummed blocks, O_DIRECT, fdatasync every 8 blocks) into its own
# region of /dev/vda while the host kills and restarts vhostd. The host ends
# the run by writing "VHD-STOP" at byte 0 of the backing file. Then every
# stream is verified block for block in the guest, and reported as
#   VHD-STREAM-END: W OFF NBLK BS COUNT
# for the host to verify the backing file. Any write error, any I/O error in
# the kernel log fails the run.
#   vhd.nw=N        writers (1-8)
#   vhd.nblk=N      blocks per writer's region (default 256)
#   vhd.bs=BYTES    block size (default 16384)
M=1048576
dev=/dev/vda
tool=/bin/vhd-tool

stream_main()
{
	local nw=${vhd_nw:-4} nblk=${vhd_nblk:-256} bs=${vhd_bs:-16384} w pids='' ok=1
	local off line n=0
	if ! vhd_wait_for $dev 20; then
		vhd_fail "no $dev after 20 s"
		return
	fi
	vhd_pass "$dev present"
	# Regions start at 1 MiB (byte 0 holds the host's stop marker).
	for w in $(seq 0 $((nw - 1))); do
		off=$((M + w * nblk * bs))
		$tool stream $dev $off $nblk $bs $w 0 >/tmp/stream.$w &
		pids="$pids $!"
	done
	echo "VHD-STREAM-STARTED writers=$nw"
	echo "writers streaming until the host's stop marker" >/tmp/vhd.phase
	w=0
	for p in $pids; do
		if ! wait $p; then
			ok=0
			vhd_fail "writer $w: $(cat /tmp/stream.$w)"
		fi
		w=$((w + 1))
	done
	[ $ok = 1 ] && vhd_pass "$nw writers saw no I/O error"
	echo "verifying the streams" >/tmp/vhd.phase
	for w in $(seq 0 $((nw - 1))); do
		read -r line </tmp/stream.$w
		set -- $line
		if [ "$1" != "VHD-STREAM-END:" ] || [ $# -ne 6 ]; then
			vhd_fail "writer $w reported no end line"
			continue
		fi
		echo "$line"
		n=$((n + $6))
		vhd_check "writer $w: $6 blocks acknowledged, region verified block for block" \
			$tool stream-verify $dev $3 $4 $5 $2 $6
	done
	echo "VHD-STREAM-TOTAL $n"
	if dmesg | grep -i -E 'I/O error|blk_update_request|critical|virtio_blk.*error'; then
		vhd_fail "kernel log reports I/O errors"
	else
		vhd_pass "kernel log has no I/O error"
	fi
}

stream_main

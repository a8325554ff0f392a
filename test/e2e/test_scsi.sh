#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# virtio-scsi with a real guest. Boot 1: two targets; LUN discovery, sg_inq +
# VPD pages 0x00 0x80 0x83 0xb0 0xb1 0xb2, sg_readcap -l, sg_luns, sg_turs,
# O_DIRECT patterns (checked on the host in target 0's backing file),
# sg_write_same, sg_unmap, sg_sync, persistent reservations (vhostd),
# mkfs.ext4 + fsck on target 1; then a target hot-added while the guest runs
# appears without a manual rescan and takes I/O, and target 1 hot-removed
# disappears while I/O to target 0 goes on undisturbed. Boot 2: 16 targets on
# one controller, all discovered; with vhostd the controller is created with
# --delay: no socket and QEMU cannot attach until vhost_start_scsi_controller.
# Server: VHD_E2E_SERVER=vhostd (vhost-user-scsi-pci, the default) | qsd
# (QEMU's own in-process virtio-scsi + scsi-hd as the reference: QSD has no
# vhost-user-scsi; it proves the guest side of this test).
set -u

. "$(dirname "$0")/lib/common.sh"
if [ "$E2E_SERVER" = qsd ]; then
	E2E_SERVER=qemu-virtio-scsi
else
	e2e_server_require scsi
fi
e2e_init

size=$((64 << 20))
disk() { echo "$E2E_TMP/$1-t$2.img"; }

# Per-server pieces: device args for targets 0..N-1, hot-add, hot-remove.
if [ "$E2E_SERVER" = vhostd ]; then
	e2e_server_start "$E2E_SOCK_DIR" || exit 1
	# scsi_setup CTRLR N [delay]: with delay, the controller is created
	# with --delay, its socket must not exist (QEMU cannot attach) until
	# vhost_start_scsi_controller.
	scsi_setup()
	{
		local ctrlr=$1 n=$2 delay=${3:-} t sock
		sock=$(e2e_scsi_add "$ctrlr" ${delay:+--delay}) || return 1
		for ((t = 0; t < n; t++)); do
			e2e_new_disk "$(disk "$ctrlr" $t)" $size
			e2e_scsi_add_target "$ctrlr" $t "$(disk "$ctrlr" $t)" || return 1
		done
		SCSI_ARGS=$(e2e_scsi_dev "$sock" c0 2)
		if [ -n "$delay" ]; then
			if [ -e "$sock" ]; then
				e2e_fail "delayed controller $ctrlr: socket exists before start"
			else
				# shellcheck disable=SC2086
				e2e_qemu_start "$E2E_TMP/$ctrlr-early.log" probe "" $SCSI_ARGS
				if e2e_qemu_wait "$E2E_QEMU_PID" 60 && [ "$E2E_QEMU_STATUS" != 0 ] &&
					! grep -a -q '^VHD-BOOT' "$E2E_TMP/$ctrlr-early.log"; then
					e2e_ok "QEMU cannot attach to delayed $ctrlr before start"
				else
					e2e_fail "QEMU attached to delayed $ctrlr before start"
				fi
			fi
			e2e_rpc vhost_start_scsi_controller "$ctrlr" >/dev/null ||
				e2e_fail "vhost_start_scsi_controller $ctrlr"
			[ -S "$sock" ] || e2e_fail "delayed $ctrlr: no socket after start"
		fi
	}
	scsi_hot_add()
	{
		e2e_new_disk "$(disk "$1" "$2")" $size
		e2e_scsi_add_target "$1" "$2" "$(disk "$1" "$2")"
	}
	scsi_hot_remove()
	{
		e2e_rpc vhost_scsi_controller_remove_target "$1" "$2" >/dev/null
	}
	pr=1
else
	E2E_QMP_SOCK=$E2E_SOCK_DIR/qemu-qmp.sock
	scsi_hd_args()
	{
		local f=$1 t=$2
		echo "-blockdev driver=file,node-name=f$t,filename=$f,cache.direct=on,discard=unmap"
		echo "-device scsi-hd,drive=f$t,bus=scsi0.0,scsi-id=$t,lun=0,id=hd$t,serial=vhd-t$t"
	}
	scsi_setup()
	{
		local ctrlr=$1 n=$2 t
		SCSI_ARGS="-qmp unix:$E2E_QMP_SOCK,server=on,wait=off"
		SCSI_ARGS+=" -device virtio-scsi-pci,id=scsi0,num_queues=2"
		for ((t = 0; t < n; t++)); do
			e2e_new_disk "$(disk "$ctrlr" $t)" $size
			SCSI_ARGS+=" $(scsi_hd_args "$(disk "$ctrlr" $t)" $t)"
		done
	}
	scsi_hot_add()
	{
		local f t=$2
		f=$(disk "$1" "$t")
		e2e_new_disk "$f" $size
		"$E2E_PY" "$E2E_LIB/qmp.py" "$E2E_QMP_SOCK" blockdev-add \
			"{\"driver\":\"file\",\"node-name\":\"f$t\",\"filename\":\"$f\",
			  \"cache\":{\"direct\":true},\"discard\":\"unmap\"}" >/dev/null &&
			"$E2E_PY" "$E2E_LIB/qmp.py" "$E2E_QMP_SOCK" device_add \
				"{\"driver\":\"scsi-hd\",\"drive\":\"f$t\",\"bus\":\"scsi0.0\",
				  \"scsi-id\":$t,\"lun\":0,\"id\":\"hd$t\",\"serial\":\"vhd-t$t\"}" >/dev/null
	}
	scsi_hot_remove()
	{
		"$E2E_PY" "$E2E_LIB/qmp.py" "$E2E_QMP_SOCK" device_del "{\"id\":\"hd$2\"}" >/dev/null
	}
	pr=0
fi

# Boot 1: two targets, every command, hot-add target 2, hot-remove target 1.
log=$E2E_TMP/scsi.log
if scsi_setup scsi0 2; then
	# shellcheck disable=SC2086
	e2e_qemu_start "$log" scsi "vhd.size=$size vhd.ntargets=2 vhd.pr=$pr vhd.hotplug=1" \
		$SCSI_ARGS
	qpid=$E2E_QEMU_PID
	if e2e_wait_log "$log" '^VHD-WAIT-HOTADD' 120 "$qpid"; then
		scsi_hot_add scsi0 2 || e2e_fail "hot-add of target 2"
		if e2e_wait_log "$log" '^VHD-WAIT-HOTREMOVE' 90 "$qpid"; then
			scsi_hot_remove scsi0 1 || e2e_fail "hot-remove of target 1"
		fi
	else
		e2e_fail "guest never got to the hot-add step"
	fi
	e2e_qemu_wait "$qpid" 120
	if e2e_guest_verdict "$log"; then
		e2e_verify_host "$log" "$(disk scsi0 0)" 10 0
		e2e_verify_host "$log" "$(disk scsi0 2)" 1 2
	else
		e2e_fail "guest test (scsi, 2 targets + hotplug)"
	fi
else
	e2e_fail "setting up a controller with 2 targets"
fi

# Boot 2: 16 targets on one controller (vhostd: a delayed controller).
log=$E2E_TMP/scsi16.log
if scsi_setup scsi16 16 delay; then
	# shellcheck disable=SC2086
	e2e_qemu_run "$log" scsi 150 "vhd.size=$size vhd.ntargets=16" $SCSI_ARGS ||
		e2e_fail "guest test (scsi, 16 targets)"
	e2e_verify_host "$log" "$(disk scsi16 0)" 9 0
else
	e2e_fail "setting up a controller with 16 targets"
fi

if [ "$E2E_SERVER" = vhostd ]; then
	e2e_server_alive || e2e_fail "vhostd died"
	e2e_server_stop || e2e_fail "vhostd did not stop cleanly"
fi
e2e_finish

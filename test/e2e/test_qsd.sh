#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The e2e tests against reference servers known to work: proves the harness
# itself (guest build, boot, result protocol, host checks), so a vhostd
# failure is vhostd's. By default test_blk.sh against qemu-storage-daemon and
# test_scsi.sh against QEMU's own virtio-scsi (QSD has no vhost-user-scsi);
# VHD_E2E_QSD_TESTS sets the list, e.g. every test QSD can serve:
# "test_blk.sh test_blk_ro.sh test_blk_reboot.sh test_blk_kill.sh test_scsi.sh"
# (resize and packed are vhostd only).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
command -v qemu-storage-daemon >/dev/null || {
	echo "SKIP: qemu-storage-daemon not installed (package qemu-system-common)"
	exit 77
}
fails=0
for t in ${VHD_E2E_QSD_TESTS:-test_blk.sh test_scsi.sh}; do
	echo "==== $t (qsd)"
	VHD_E2E_SERVER=qsd "$dir/$t"
	rc=$?
	case $rc in
	0) echo "==== $t (qsd): passed" ;;
	77) echo "==== $t (qsd): skipped" ;;
	*)
		echo "==== $t (qsd): FAILED (exit $rc)"
		fails=$((fails + 1))
		;;
	esac
done
[ $fails -eq 0 ]

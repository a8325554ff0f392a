#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-user-blk on Ceph RBD images with a real guest, on our own one-node test
# cluster (test/ceph/cluster.sh, in a temp dir, stopped by PID at exit):
#  1. guest test blk "full" (O_DIRECT patterns at many offsets and sizes, parallel
#     writers, write-zeroes, discard, ext4 + checksums + fsck) on image "full";
#     the host then reads the image back with `rbd export` and finds every region
#     the guest reported, and e2fsck finds the guest's ext4 clean;
#  2. guest test blk "resize" on image "grow": while the guest waits, the image is
#     grown by bdev_rbd_resize (64 -> 80 MiB; the guest kernel logs the new size)
#     and then by another client, `rbd resize` (-> 96 MiB; the guest's
#     /sys/block/vda/size must reach it); the guest writes in the grown area and
#     the host finds it through `rbd export`.
# vhostd only (rbd is not in the qsd reference run). Exit 77 without Ceph.
set -u
. "$(dirname "$0")/lib/common.sh"
[ "$E2E_SERVER" = vhostd ] || e2e_skip "rbd e2e runs against vhostd only (server $E2E_SERVER)"
e2e_server_require blk
CLUSTER_SH=$E2E_TOP/test/ceph/cluster.sh
for b in ceph-mon ceph-osd rbd e2fsck; do
	command -v "$b" >/dev/null 2>&1 ||
		e2e_skip "$b not installed (scripts/pkgdep.sh installs ceph-mon ceph-osd ceph-common)"
done
e2e_init
M=$((1 << 20))
CEPH_DIR=$(mktemp -d /tmp/vhd-ceph-XXXXXX) || exit 1

rbd_e2e_cleanup()
{
	# vhostd first (it closes the images), then the cluster, by PID.
	e2e_cleanup
	"$CLUSTER_SH" destroy "$CEPH_DIR" >/dev/null 2>&1
	rm -rf "$E2E_SOCK_DIR"
}
trap rbd_e2e_cleanup EXIT

rbd_cli()
{
	timeout 60 rbd -c "$CEPH_DIR/ceph.conf" "$@"
}

# RPCs that wait for librbd (connect, open, resize) get more than e2e_rpc's 30 s.
rpc()
{
	timeout 150 "$E2E_PY" "$E2E_RPC_PY" -r 10 -t 120 -s "$E2E_SRV_DIR/rpc.sock" "$@"
}

t0=$SECONDS
# 20000-39999: clear of the fixed test ports and of other clusters on this host.
if ! "$CLUSTER_SH" up "$CEPH_DIR" --port $((20000 + RANDOM % 20000)) --image full:64 \
	--image grow:64 >"$E2E_TMP/cluster.log" 2>&1; then
	rc=$?
	[ $rc -eq 77 ] && e2e_skip "$(tail -n 1 "$E2E_TMP/cluster.log")"
	cat "$E2E_TMP/cluster.log" >&2
	e2e_fail "test cluster did not come up"
	e2e_finish
fi
e2e_log "ceph test cluster up in $((SECONDS - t0)) s ($CEPH_DIR)"

e2e_server_start "$E2E_SOCK_DIR" || exit 1
rpc rpc_get_methods | grep -q '"bdev_rbd_create"' || e2e_skip "vhostd built without the rbd bdev"
rpc bdev_rbd_register_cluster c0 --config-file "$CEPH_DIR/ceph.conf" >/dev/null ||
	{ e2e_fail "bdev_rbd_register_cluster"; e2e_finish; }

# rbd_export IMAGE FILE: the image as the cluster holds it, read by another client.
rbd_export()
{
	rm -f "$2"
	rbd_cli export --no-progress "rbd/$1" "$2" >/dev/null 2>"$2.err" || {
		cat "$2.err" >&2
		return 1
	}
}

# rbd_add IMAGE: bdev r-IMAGE + blk controller IMAGE; prints the socket.
rbd_add()
{
	rpc bdev_rbd_create -b "r-$1" --cluster-name c0 rbd "$1" 512 >/dev/null || return 1
	rpc vhost_create_blk_controller "$1" "r-$1" >/dev/null || return 1
	[ -S "$E2E_SRV_DIR/$1" ] || return 1
	echo "$E2E_SRV_DIR/$1"
}

# --- 1. full blk guest test; data read back with rbd export ---
if sock=$(rbd_add full); then
	# shellcheck disable=SC2046
	if E2E_SMP=2 e2e_qemu_run "$E2E_TMP/full.log" blk 150 \
		"vhd.mode=full vhd.size=$((64 * M)) vhd.nq=2" $(e2e_blk_dev "$sock" c0 2); then
		if rbd_export full "$E2E_TMP/full.img"; then
			e2e_verify_host "$E2E_TMP/full.log" "$E2E_TMP/full.img" 10
			# The guest's ext4 occupies [0, 32M): clean as the cluster has it.
			if e2fsck -f -n "$E2E_TMP/full.img" >"$E2E_TMP/fsck.log" 2>&1; then
				e2e_ok "e2fsck of the guest's ext4 read through rbd export: clean"
			else
				cat "$E2E_TMP/fsck.log" >&2
				e2e_fail "e2fsck of the exported image"
			fi
		else
			e2e_fail "rbd export full"
		fi
	else
		e2e_fail "guest test full on rbd"
	fi
else
	e2e_fail "could not export rbd/full through vhostd"
fi

# --- 2. resize by RPC, then by another client, seen by the running guest ---
old=$((64 * M))
mid=$((80 * M))
new=$((96 * M))
log=$E2E_TMP/grow.log
if sock=$(rbd_add grow); then
	# Log level 6 puts virtio_blk's "new size" notice on the console.
	# shellcheck disable=SC2046
	VHD_E2E_LOGLEVEL=6 E2E_SMP=2 E2E_GUEST_TIMEOUT=140 e2e_qemu_start "$log" blk \
		"vhd.mode=resize vhd.size=$old vhd.newsize=$new vhd.nq=2" \
		$(e2e_blk_dev "$sock" c0 2)
	qpid=$E2E_QEMU_PID
	if e2e_wait_log "$log" '^VHD-WAIT-RESIZE' 120 "$qpid"; then
		if rpc bdev_rbd_resize r-grow $((mid / M)) >/dev/null; then
			if e2e_wait_log "$log" "new size: $((mid / 512)) 512-byte" 40 "$qpid"; then
				e2e_ok "bdev_rbd_resize: the guest saw $((mid / 512)) sectors"
			else
				e2e_fail "guest never saw the bdev_rbd_resize to $mid bytes"
			fi
		else
			e2e_fail "bdev_rbd_resize r-grow $((mid / M))"
		fi
		rbd_cli resize --no-progress --size $((new / M))M rbd/grow >/dev/null 2>&1 ||
			e2e_fail "rbd resize by another client"
		e2e_log "grew rbd/grow to $mid (RPC) then $new bytes (rbd resize) while the guest runs"
	else
		e2e_fail "guest never got to the resize step"
	fi
	e2e_qemu_wait "$qpid" 150
	if e2e_guest_verdict "$log"; then
		if rbd_export grow "$E2E_TMP/grow.img"; then
			[ "$(stat -c %s "$E2E_TMP/grow.img")" = $new ] ||
				e2e_fail "exported image is $(stat -c %s "$E2E_TMP/grow.img") bytes, want $new"
			# 8 regions, one per CPU, one in the grown area.
			e2e_verify_host "$log" "$E2E_TMP/grow.img" 11
		else
			e2e_fail "rbd export grow"
		fi
	else
		e2e_fail "guest test resize on rbd"
	fi
else
	e2e_fail "could not export rbd/grow through vhostd"
fi

e2e_server_alive || e2e_fail "$E2E_SERVER died"
e2e_server_stop || e2e_fail "$E2E_SERVER did not stop cleanly"
e2e_finish

# SPDX-License-Identifier: BSD-3-Clause
# Shared by the rbd functional tests (source after ../lib/daemon.sh):
#   rbd_cluster_up IMAGE:MiB...   own one-node cluster in $VHD_CEPH (temp dir), destroyed at exit;
#                                 exit 77 when Ceph is not installed
#   rbd_cli ARGS                  the rbd CLI on that cluster
#   rbd_start ARGS                vhd_start, keeping the cluster's clean-up in the EXIT trap
#   call METHOD JSON              vhd_rpc call, failing the test on error
#   perf ARGS                     vhost-perf with a timeout
VHD_CEPH=
VPERF=$VHD_TOP/${BUILD:-build}/app/vhost-perf/vhost-perf
CLUSTER_SH=$VHD_TOP/test/ceph/cluster.sh

rbd_cleanup() {
	vhd_cleanup
	[ -n "$VHD_CEPH" ] && "$CLUSTER_SH" destroy "$VHD_CEPH" >/dev/null 2>&1
	VHD_CEPH=
}

rbd_cluster_up() {
	local args=() img rc
	for img in "$@"; do
		args+=(--image "$img")
	done
	VHD_CEPH=$(mktemp -d /tmp/vhd-ceph-XXXXXX)
	trap rbd_cleanup EXIT
	# The Ceph daemons detach: a runner's timeout (SIGTERM) must still stop them.
	trap 'exit 1' TERM INT HUP
	"$CLUSTER_SH" up "$VHD_CEPH" --port $((20000 + RANDOM % 20000)) "${args[@]}" \
		>"$VHD_CEPH.up.log" 2>&1 && rc=0 || rc=$?
	if [ $rc -eq 77 ]; then
		rm -rf "$VHD_CEPH" "$VHD_CEPH.up.log"
		VHD_CEPH=
		vhd_skip "ceph binaries missing (scripts/pkgdep.sh installs them)"
	fi
	[ $rc -eq 0 ] || { cat "$VHD_CEPH.up.log"; rm -f "$VHD_CEPH.up.log"; vhd_fail "cluster up"; }
	rm -f "$VHD_CEPH.up.log"
}

rbd_start() {
	vhd_start "$@"
	trap rbd_cleanup EXIT
}

rbd_cli() {
	timeout 60 rbd -c "$VHD_CEPH/ceph.conf" "$@"
}

call() {
	vhd_rpc -t 120 call "$@" || vhd_fail "rpc $*"
}

perf() {
	timeout -k 5 180 "$VPERF" "$@"
}

# The bdev's num_blocks.
num_blocks() {
	vhd_rpc bdev_get_bdevs -b "$1" | awk -F'[:,]' '/"num_blocks"/ {gsub(/ /, "", $2); print $2}'
}

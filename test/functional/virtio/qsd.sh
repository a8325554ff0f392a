# SPDX-License-Identifier: BSD-3-Clause
# Shell helpers for the lib/virtio + vhost-perf functional tests (source this file):
#
#   . "$(dirname "$0")/qsd.sh"
#   qsd_start file 2          # or: qsd_start null 1; socket $QSD_SOCK, pid $QSD_PID,
#                             # backing file $QSD_DIR/disk.img (64 MiB) for "file"
#   vperf -w randrw ...       # build/app/vhost-perf/vhost-perf -s $QSD_SOCK with a timeout
#   qsd_stop                  # SIGTERM; also from the EXIT trap, removes $QSD_DIR
VT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VPERF=$VT_TOP/${BUILD:-build}/app/vhost-perf/vhost-perf
QSD_BIN=${QSD_BIN:-$(command -v qemu-storage-daemon)}
QSD_PID=
QSD_DIR=$(mktemp -d /tmp/vhd-virtio-XXXXXX)
QSD_SOCK=$QSD_DIR/qsd.sock

vt_skip() {
	echo "$*"
	exit 77
}

vt_fail() {
	echo "FAIL: $*"
	[ -f "$QSD_DIR/qsd.log" ] && tail -n 20 "$QSD_DIR/qsd.log"
	exit 1
}

qsd_stop() {
	if [ -n "$QSD_PID" ] && kill -0 "$QSD_PID" 2>/dev/null; then
		kill -TERM "$QSD_PID"
		wait "$QSD_PID" 2>/dev/null
	fi
	QSD_PID=
	rm -f "$QSD_SOCK"
}

vt_cleanup() {
	qsd_stop
	rm -rf "$QSD_DIR"
}
trap vt_cleanup EXIT

# qsd_start file|null NUM_QUEUES [SIZE]
qsd_start() {
	local kind=$1 nq=$2 size=${3:-64M} blockdev
	[ -x "$VPERF" ] || vt_skip "$VPERF not built (run make)"
	[ -n "$QSD_BIN" ] || vt_skip "qemu-storage-daemon not installed (apt-get install qemu-system-common)"
	qsd_stop
	case $kind in
	file)
		[ -f "$QSD_DIR/disk.img" ] || truncate -s "$size" "$QSD_DIR/disk.img"
		blockdev=driver=file,node-name=f,filename=$QSD_DIR/disk.img
		;;
	null) blockdev=driver=null-co,node-name=f,size=1073741824 ;;
	*) vt_fail "qsd_start: unknown backing $kind" ;;
	esac
	"$QSD_BIN" --blockdev "$blockdev" \
		--export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$QSD_SOCK,writable=on,num-queues=$nq" \
		>"$QSD_DIR/qsd.log" 2>&1 &
	QSD_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -S "$QSD_SOCK" ] && return 0
		kill -0 "$QSD_PID" 2>/dev/null || vt_fail "qemu-storage-daemon exited during start-up"
		sleep 0.05
	done
	vt_fail "qemu-storage-daemon socket did not appear"
}

vperf() {
	timeout -k 5 120 "$VPERF" -s "$QSD_SOCK" "$@"
}

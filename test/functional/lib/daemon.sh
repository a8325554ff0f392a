# SPDX-License-Identifier: BSD-3-Clause
# Shell helpers for functional tests (source this file):
#
#   . "$(dirname "$0")/../lib/daemon.sh"
#   vhd_start -m 0x1 [more vhostd args]   # temp dir $VHD_DIR, socket $VHD_SOCK, pid $VHD_PID;
#                                         # waits for framework_wait_init (not with --wait-for-rpc)
#   vhd_rpc bdev_get_bdevs                # scripts/rpc.py -s $VHD_SOCK ...
#   vhd_stop                              # SIGTERM, wait; returns the daemon's exit code
#   vhd_skip "reason"                     # exit 77 with the reason as the last line
#   vhd_fail "what"                       # print the daemon log tail, exit 1
# vhd_stop runs from an EXIT trap too, and removes $VHD_DIR.
# $VHD_BUILD_DIR is the absolute build directory ($BUILD, absolute or relative).
# Environment: VHD_WRAPPER is a command prefix for the daemon (e.g.
# "valgrind --tool=memcheck ...", see scripts/valgrind.sh); VHD_TIMEOUT_SCALE
# (default 1) multiplies the start-up wait for such slow runs.
VHD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
case ${BUILD:-build} in
/*) VHD_BUILD_DIR=$BUILD ;;
*) VHD_BUILD_DIR=$VHD_TOP/${BUILD:-build} ;;
esac
VHD_BIN=$VHD_BUILD_DIR/app/vhostd/vhostd
VHD_RPC_PY=$VHD_TOP/scripts/rpc.py
VHD_PID=
VHD_DIR=

vhd_skip() {
	echo "$*"
	exit 77
}

vhd_fail() {
	echo "FAIL: $*"
	[ -n "$VHD_DIR" ] && [ -f "$VHD_DIR/vhostd.log" ] && tail -n 30 "$VHD_DIR/vhostd.log"
	exit 1
}

vhd_rpc() {
	"$VHD_RPC_PY" -s "$VHD_SOCK" "$@"
}

vhd_start() {
	[ -x "$VHD_BIN" ] || vhd_skip "$VHD_BIN not built (run make)"
	VHD_DIR=$(mktemp -d /tmp/vhd-test-XXXXXX)
	VHD_SOCK=$VHD_DIR/vhostd.sock
	# shellcheck disable=SC2086
	(cd "$VHD_DIR" && exec ${VHD_WRAPPER:-} "$VHD_BIN" -r "$VHD_SOCK" -S "$VHD_DIR" "$@") \
		>"$VHD_DIR/vhostd.log" 2>&1 &
	VHD_PID=$!
	trap vhd_cleanup EXIT
	local i
	for i in $(seq 1 $((200 * ${VHD_TIMEOUT_SCALE:-1}))); do
		kill -0 "$VHD_PID" 2>/dev/null || vhd_fail "vhostd exited during start-up"
		if [ -S "$VHD_SOCK" ] && "$VHD_RPC_PY" -s "$VHD_SOCK" -t 5 spdk_get_version >/dev/null 2>&1; then
			case " $* " in
			*" --wait-for-rpc "*) ;;
			*) vhd_rpc framework_wait_init >/dev/null || vhd_fail "framework_wait_init" ;;
			esac
			return 0
		fi
		sleep 0.05
	done
	vhd_fail "vhostd socket did not appear"
}

vhd_stop() {
	local rc=0
	if [ -n "$VHD_PID" ] && kill -0 "$VHD_PID" 2>/dev/null; then
		kill -TERM "$VHD_PID"
		wait "$VHD_PID" || rc=$?
	fi
	VHD_PID=
	return $rc
}

vhd_cleanup() {
	vhd_stop || true
	if [ -n "$VHD_DIR" ] && grep -qE 'Sanitizer|runtime error:' "$VHD_DIR/vhostd.log" 2>/dev/null; then
		echo "FAIL: sanitizer findings in vhostd:"
		tail -n 40 "$VHD_DIR/vhostd.log"
		rm -rf "$VHD_DIR"
		exit 1
	fi
	[ -n "$VHD_DIR" ] && rm -rf "$VHD_DIR"
	VHD_DIR=
}

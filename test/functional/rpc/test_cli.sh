#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Command line: bad options and values exit 2 with a one-line error; -h, -v; -L, --log-level.
set -u
. "$(dirname "$0")/../lib/daemon.sh"
[ -x "$VHD_BIN" ] || vhd_skip "$VHD_BIN not built (run make)"
fails=0

bad() {
	local out rc
	out=$("$VHD_BIN" -r /tmp/vhd-cli-never.sock "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc -ne 2 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || [ -z "$out" ]; then
		echo "FAIL: vhostd $*: exit $rc, output: $out"
		fails=$((fails + 1))
	else
		echo "ok: vhostd $* -> $out"
	fi
}

bad --no-such-option
bad -x
bad -m
bad -m 0x0
bad -m zz
bad -m '[0,'
bad -m 0x10000000000000000000000000000000000000
bad --mode fast
bad --log-level LOUD
bad -L no_such_flag
bad extra_argument
bad --rpc-socket ''
bad --help=3
bad --cpumask
bad -c

out=$("$VHD_BIN" -v) && [ "$out" = "vhostd v0.1.0" ] || { echo "FAIL: -v: $out"; fails=$((fails + 1)); }
out=$("$VHD_BIN" --help) && echo "$out" | grep -q -- '--wait-for-rpc' ||
	{ echo "FAIL: --help"; fails=$((fails + 1)); }
[ -e /tmp/vhd-cli-never.sock ] && { echo "FAIL: socket created"; fails=$((fails + 1)); }

# -L and --log-level take effect (and --mode poll is accepted).
vhd_start -L thread --log-level INFO --mode poll
[ "$(vhd_rpc log_get_level)" = '"INFO"' ] || { echo "FAIL: --log-level"; fails=$((fails + 1)); }
vhd_rpc log_get_flags | grep '"thread": true' >/dev/null || { echo "FAIL: -L"; fails=$((fails + 1)); }
vhd_stop || { echo "FAIL: exit $?"; fails=$((fails + 1)); }

[ $fails -eq 0 ] || exit 1
echo "all CLI checks passed"

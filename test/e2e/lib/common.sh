# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Everything an e2e test needs: source this first. Provides lib/guest.sh,
# lib/qemu.sh and lib/server.sh, a scratch dir E2E_TMP (removed on exit unless
# VHD_E2E_KEEP=1), cleanup that kills every QEMU and server this test started
# (by PID), and the host-side data check.

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/e2e/lib/guest.sh
. "$E2E_LIB/guest.sh"
# shellcheck source=test/e2e/lib/qemu.sh
. "$E2E_LIB/qemu.sh"
# shellcheck source=test/e2e/lib/server.sh
. "$E2E_LIB/server.sh"

E2E_PIDS=()
E2E_FAILS=0
E2E_T0=$SECONDS

e2e_cleanup()
{
	local pid
	for pid in "${E2E_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	[ -n "${E2E_QEMU_PID:-}" ] && kill -KILL "$E2E_QEMU_PID" 2>/dev/null
	e2e_server_stop 2>/dev/null
	if [ "${VHD_E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: kept $E2E_TMP" >&2
	else
		rm -rf "$E2E_TMP"
	fi
}

# e2e_init: scratch dir, cleanup trap, guest build. Backing files live in
# $E2E_TMP (under /var/tmp: a real file system, O_DIRECT works); sockets in
# $E2E_SOCK_DIR (short path, < 108 bytes).
e2e_init()
{
	mkdir -p "$E2E_CACHE_ROOT/run"
	E2E_TMP=$(mktemp -d "$E2E_CACHE_ROOT/run/$(basename "$0" .sh).XXXXXX") || exit 1
	E2E_SOCK_DIR=$(mktemp -d /tmp/vhd-e2e.XXXXXX) || exit 1
	trap 'e2e_cleanup; rm -rf "$E2E_SOCK_DIR"' EXIT
	trap 'exit 1' INT TERM
	e2e_guest_prepare || {
		echo "e2e: cannot build the guest (kernel download or initramfs)" >&2
		exit 1
	}
}

# e2e_fail WHAT: record a failure (the test goes on, exits 1 at the end).
e2e_fail()
{
	E2E_FAILS=$((E2E_FAILS + 1))
	echo "e2e: FAIL: $*" >&2
}

e2e_ok()
{
	echo "e2e: ok: $*" >&2
}

# e2e_new_disk FILE BYTES: a zero-filled backing file.
e2e_new_disk()
{
	rm -f "$1" && truncate -s "$2" "$1"
}

# e2e_verify_host LOG FILE MIN [TARGET]: every "VHD-PATTERN: OFF LEN SEED"
# region the guest reports (with TARGET: every "VHD-PATTERN: TARGET OFF LEN
# SEED" one) must hold that pattern in FILE (read by the host, buffered), and
# the guest must have reported at least MIN regions.
e2e_verify_host()
{
	local log=$1 file=$2 min=$3 target=${4:-} n=0 bad=0 off len seed
	while read -r off len seed; do
		n=$((n + 1))
		if ! VHD_TOOL_BUFFERED=1 "$E2E_VHD_TOOL" verify "$file" "$off" "$len" "$seed"; then
			bad=$((bad + 1))
		fi
	done < <(grep -a '^VHD-PATTERN: ' "$log" | tr -d '\r' |
		awk -v t="$target" '(t == "" && NF == 4) { print $2, $3, $4 }
			(t != "" && NF == 5 && $2 == t) { print $3, $4, $5 }' | sort -u)
	if [ $n -lt "$min" ]; then
		e2e_fail "host check of $file: guest reported $n pattern regions, expected >= $min"
		return 1
	fi
	if [ $bad -ne 0 ]; then
		e2e_fail "host check of $file: $bad of $n regions do not hold the guest's data"
		return 1
	fi
	e2e_ok "host check of $file: $n regions hold the guest's data"
}

# e2e_wait_log LOG REGEX SECONDS [PID]: bounded wait for a console line.
e2e_wait_log()
{
	local log=$1 re=$2 deadline=$((SECONDS + $3)) pid=${4:-}
	while [ $SECONDS -lt $deadline ]; do
		grep -a -q -E "$re" "$log" 2>/dev/null && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
		sleep 0.2
	done
	grep -a -q -E "$re" "$log" 2>/dev/null
}

# e2e_finish: summary line, exit status.
e2e_finish()
{
	echo "e2e: $(basename "$0"): server $E2E_SERVER, accel ${E2E_ACCEL:-?}," \
		"$((SECONDS - E2E_T0)) s, $E2E_FAILS failures"
	[ $E2E_FAILS -eq 0 ] && exit 0
	exit 1
}

# e2e_blk_boot NAME MODE NQ SMP BYTES [ro] [packed]: a fresh backing file
# exported as NAME, one boot running guest test blk.sh in MODE with NQ
# queues on SMP vCPUs, then the host check of every region the guest wrote
# (guest blk_patterns writes 8 regions plus one per CPU).
e2e_blk_boot()
{
	local name=$1 mode=$2 nq=$3 smp=$4 bytes=$5
	shift 5
	local file=$E2E_TMP/$name.img sock extra='' opt min=$((8 + smp)) append=''
	for opt in "$@"; do
		[ "$opt" = packed ] && extra=,packed=on && append=" vhd.packed=1"
	done
	e2e_new_disk "$file" "$bytes"
	if [ "$mode" = ro ]; then
		VHD_TOOL_BUFFERED=1 "$E2E_VHD_TOOL" write "$file" $((40 << 20)) $((1 << 20)) 42 ||
			return 1
	fi
	sock=$(e2e_blk_add "$name" "$file" "$@") || {
		e2e_fail "$name: could not export $file"
		return 1
	}
	# shellcheck disable=SC2046
	if ! E2E_SMP=$smp e2e_qemu_run "$E2E_TMP/$name.log" blk 150 \
		"vhd.mode=$mode vhd.size=$bytes vhd.nq=$((nq < smp ? nq : smp))$append" \
		$(e2e_blk_dev "$sock" c0 "$nq" "$extra"); then
		e2e_fail "$name: guest test ($mode, $nq queues$extra)"
		return 1
	fi
	case $mode in
	ro)
		VHD_TOOL_BUFFERED=1 "$E2E_VHD_TOOL" verify "$file" $((40 << 20)) $((1 << 20)) 42 &&
			cmp -s -n $((1 << 20)) -i $((41 << 20)):0 "$file" /dev/zero ||
			e2e_fail "$name: read-only disk changed on the host"
		;;
	*)
		e2e_verify_host "$E2E_TMP/$name.log" "$file" $min || return 1
		;;
	esac
	e2e_ok "$name: $mode, $nq queues$extra"
}

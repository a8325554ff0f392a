# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# The vhost-user server under test, selected by VHD_E2E_SERVER:
#   vhostd  build/app/vhostd/vhostd driven by scripts/rpc.py (the default)
#   qsd     qemu-storage-daemon driven over QMP (a reference peer: proves the
#           harness, and runs what vhostd cannot yet)
#
#   e2e_server_require [FEATURE...]  exit 77 (with the reason as the last line)
#       if the server cannot run this test. Features: blk scsi packed resize
#   e2e_server_start DIR             start it, sockets and logs under DIR
#   e2e_blk_add NAME FILE [ro] [packed]   export FILE as vhost-user-blk; prints
#       the socket path
#   e2e_blk_resize NAME FILE BYTES   grow the backing file, tell the server
#   e2e_server_alive                 0 if the server process still runs
#   e2e_server_stop                  stop it (bounded), 0 if it exited cleanly
#   e2e_scsi_add NAME / e2e_scsi_add_target NAME NUM FILE (vhostd only)

E2E_TOP=$(cd "$E2E_LIB/../../.." && pwd)
E2E_SERVER=${VHD_E2E_SERVER:-vhostd}
E2E_VHOSTD=${VHD_E2E_VHOSTD:-$E2E_TOP/build/app/vhostd/vhostd}
E2E_RPC_PY=$E2E_TOP/scripts/rpc.py

e2e_skip()
{
	echo "SKIP: $*"
	exit 77
}

e2e_rpc()
{
	timeout 30 "$E2E_PY" "$E2E_RPC_PY" -r 10 -s "$E2E_SRV_DIR/rpc.sock" "$@"
}

e2e_qmp()
{
	timeout 30 "$E2E_PY" "$E2E_LIB/qmp.py" "$E2E_SRV_DIR/qmp.sock" "$@"
}

# vhostd's RPC method list (needs a running daemon: started on a scratch dir).
e2e_vhostd_methods()
{
	local dir pid methods=
	dir=$(mktemp -d /tmp/vhd-e2e-probe.XXXXXX)
	"$E2E_VHOSTD" -r "$dir/rpc.sock" -S "$dir" >"$dir/log" 2>&1 </dev/null &
	pid=$!
	if e2e_wait_socket "$dir/rpc.sock" "$pid"; then
		methods=$(timeout 30 "$E2E_PY" "$E2E_RPC_PY" -r 10 -s "$dir/rpc.sock" rpc_get_methods 2>/dev/null)
	fi
	kill -TERM "$pid" 2>/dev/null
	e2e_wait_exit "$pid" 10
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$dir"
	echo "$methods"
}

e2e_server_require()
{
	local f methods
	case $E2E_SERVER in
	qsd)
		command -v qemu-storage-daemon >/dev/null ||
			e2e_skip "qemu-storage-daemon not installed (package qemu-system-common)"
		for f in "$@"; do
			case $f in
			blk) ;;
			resize) e2e_skip "qemu-storage-daemon 7.2's vhost-user-blk export does not tell the guest about a resize (vhostd only)" ;;
			packed) e2e_skip "qemu-storage-daemon has no packed-ring vhost-user-blk (vhostd only)" ;;
			scsi) e2e_skip "qemu-storage-daemon has no vhost-user-scsi export (vhostd only)" ;;
			esac
		done
		;;
	vhostd)
		[ -x "$E2E_VHOSTD" ] || e2e_skip "$E2E_VHOSTD not built (make) — vhostd e2e needs it"
		[ -f "$E2E_RPC_PY" ] || e2e_skip "scripts/rpc.py missing"
		# Starting a daemon to ask costs seconds on a loaded machine: the
		# answer is cached per binary (path, size, mtime).
		local key cache
		key=$(stat -c '%n %s %Y' "$E2E_VHOSTD" | sha256sum | cut -c1-16)
		cache=$E2E_CACHE_ROOT/methods/$key
		if [ -s "$cache" ]; then
			methods=$(cat "$cache")
		else
			methods=$(e2e_vhostd_methods)
			[ -n "$methods" ] || e2e_skip "vhostd did not answer rpc_get_methods"
			mkdir -p "$E2E_CACHE_ROOT/methods" &&
				echo "$methods" >"$cache.$$" && mv "$cache.$$" "$cache"
			find "$E2E_CACHE_ROOT/methods" -type f -mtime +1 -delete 2>/dev/null
		fi
		for f in "$@"; do
			case $f in
			blk | packed)
				grep -q '"vhost_create_blk_controller"' <<<"$methods" ||
					e2e_skip "vhostd lacks vhost_create_blk_controller (vhost-blk not landed yet)"
				grep -q '"bdev_aio_create"' <<<"$methods" ||
					e2e_skip "vhostd lacks bdev_aio_create (aio bdev not landed yet)"
				;;
			resize)
				grep -q '"bdev_aio_rescan"' <<<"$methods" ||
					e2e_skip "vhostd lacks bdev_aio_rescan (resize test needs it)"
				;;
			scsi)
				grep -q '"vhost_create_scsi_controller"' <<<"$methods" ||
					e2e_skip "vhostd lacks vhost_create_scsi_controller (vhost-scsi not landed yet)"
				;;
			esac
		done
		;;
	*)
		echo "VHD_E2E_SERVER must be qsd or vhostd, not '$E2E_SERVER'" >&2
		exit 2
		;;
	esac
}

# e2e_wait_socket SOCK PID: bounded (20 s) wait for a server's socket.
e2e_wait_socket()
{
	local sock=$1 pid=$2 deadline=$((SECONDS + 20))
	while [ $SECONDS -lt $deadline ]; do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	[ -S "$sock" ]
}

# e2e_wait_exit PID SECONDS: 0 once PID is gone, 1 if still there at the bound.
e2e_wait_exit()
{
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
	return 0
}

e2e_server_start()
{
	E2E_SRV_DIR=$1
	mkdir -p "$E2E_SRV_DIR"
	case $E2E_SERVER in
	qsd)
		qemu-storage-daemon \
			--chardev "socket,id=m,path=$E2E_SRV_DIR/qmp.sock,server=on,wait=off" \
			--monitor chardev=m >"$E2E_SRV_DIR/server.log" 2>&1 </dev/null &
		E2E_SRV_PID=$!
		e2e_wait_socket "$E2E_SRV_DIR/qmp.sock" "$E2E_SRV_PID"
		;;
	vhostd)
		"$E2E_VHOSTD" -r "$E2E_SRV_DIR/rpc.sock" -S "$E2E_SRV_DIR" \
			>"$E2E_SRV_DIR/server.log" 2>&1 </dev/null &
		E2E_SRV_PID=$!
		e2e_wait_socket "$E2E_SRV_DIR/rpc.sock" "$E2E_SRV_PID"
		;;
	esac || {
		e2e_log "$E2E_SERVER did not start; its log:"
		cat "$E2E_SRV_DIR/server.log" >&2
		return 1
	}
	e2e_log "$E2E_SERVER started (pid $E2E_SRV_PID) in $E2E_SRV_DIR"
}

e2e_blk_add()
{
	local name=$1 file=$2 ro=0 packed=0 opt
	shift 2
	for opt in "$@"; do
		case $opt in
		ro) ro=1 ;;
		packed) packed=1 ;;
		esac
	done
	local sock=$E2E_SRV_DIR/$name
	case $E2E_SERVER in
	qsd)
		local rw=true rdonly=false
		[ $ro = 1 ] && rw=false rdonly=true
		e2e_qmp blockdev-add "{\"driver\":\"file\",\"node-name\":\"n-$name\",
			\"filename\":\"$file\",\"discard\":\"unmap\",\"read-only\":$rdonly}" \
			>/dev/null || return 1
		e2e_qmp block-export-add "{\"type\":\"vhost-user-blk\",\"id\":\"$name\",
			\"node-name\":\"n-$name\",\"writable\":$rw,\"num-queues\":4,
			\"addr\":{\"type\":\"unix\",\"path\":\"$sock\"}}" >/dev/null || return 1
		;;
	vhostd)
		local args=()
		[ $ro = 1 ] && args+=(-r)
		[ $packed = 1 ] && args+=(-p)
		e2e_rpc bdev_aio_create "$file" "b-$name" 512 >/dev/null || return 1
		e2e_rpc vhost_create_blk_controller "${args[@]}" "$name" "b-$name" >/dev/null ||
			return 1
		;;
	esac
	[ -S "$sock" ] || {
		e2e_log "no socket $sock after creating $name"
		return 1
	}
	echo "$sock"
}

e2e_blk_resize()
{
	local name=$1 file=$2 bytes=$3
	case $E2E_SERVER in
	qsd)
		e2e_qmp block_resize "{\"node-name\":\"n-$name\",\"size\":$bytes}" >/dev/null
		;;
	vhostd)
		truncate -s "$bytes" "$file" && e2e_rpc bdev_aio_rescan "b-$name" >/dev/null
		;;
	esac
}

# e2e_scsi_add NAME [--delay]: a vhost-user-scsi controller; prints its socket.
e2e_scsi_add()
{
	local name=$1
	shift
	e2e_rpc vhost_create_scsi_controller "$@" "$name" >/dev/null || return 1
	echo "$E2E_SRV_DIR/$name"
}

# e2e_scsi_add_target CTRLR NUM FILE: aio bdev on FILE as target NUM.
e2e_scsi_add_target()
{
	local name=$1 num=$2 file=$3
	e2e_rpc bdev_aio_create "$file" "s-$name-$num" 512 >/dev/null || return 1
	e2e_rpc vhost_scsi_controller_add_target "$name" "$num" "s-$name-$num" >/dev/null
}

e2e_server_alive()
{
	kill -0 "$E2E_SRV_PID" 2>/dev/null
}

e2e_server_stop()
{
	local st
	[ -n "${E2E_SRV_PID:-}" ] || return 0
	kill -TERM "$E2E_SRV_PID" 2>/dev/null
	if ! e2e_wait_exit "$E2E_SRV_PID" 10; then
		e2e_log "$E2E_SERVER (pid $E2E_SRV_PID) ignored SIGTERM for 10 s: killing it"
		kill -KILL "$E2E_SRV_PID" 2>/dev/null
		wait "$E2E_SRV_PID" 2>/dev/null
		E2E_SRV_PID=
		return 1
	fi
	wait "$E2E_SRV_PID"
	st=$?
	E2E_SRV_PID=
	# SIGTERM's status (143) counts as a clean stop for QSD.
	[ $st -eq 0 ] || [ $st -eq 143 ]
}

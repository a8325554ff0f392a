#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make run`: start build/app/vhostd/vhostd in the foreground on the default
# config, everything under ./run/ (RPC socket, vhost-user sockets, state file).
#
# The default config is app/vhostd/default-config.json (save_config format);
# areas that want something in the default (a malloc bdev, controllers) add
# their entries there. Hooks: every executable scripts/run.d/*.sh is run with
# RUN_DIR, RPC_SOCK and VHOST_SOCK_DIR set once the daemon is up, to print
# what a user needs (e.g. the QEMU command line). Extra arguments go to vhostd.
# The state file is not used by default, so every `make run` starts from the
# default config; set VHD_RUN_STATE=1 to keep state across runs in run/state.json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
bin=$BUILD/app/vhostd/vhostd
run_dir=$top/run
mkdir -p "$run_dir"
rpc_sock=$run_dir/vhostd.sock
config=${VHD_RUN_CONFIG:-$top/app/vhostd/default-config.json}

args=(-r "$rpc_sock" -S "$run_dir" -c "$config" --pidfile "$run_dir/vhostd.pid")
if [ -n "${VHD_RUN_STATE:-}" ]; then
	args+=(--state "$run_dir/state.json")
fi

echo "vhostd: RPC socket      $rpc_sock"
echo "vhostd: vhost sockets   $run_dir/<controller>"
echo "vhostd: config          $config"
echo "vhostd: try             scripts/rpc.py -s $rpc_sock rpc_get_methods"
echo "vhostd: stop with Ctrl-C"

"$bin" "${args[@]}" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit $?' INT TERM

# Wait for the socket, then let the hooks print what they have to say.
for _ in $(seq 1 100); do
	if scripts/rpc.py -s "$rpc_sock" -t 1 framework_wait_init >/dev/null 2>&1; then
		for hook in scripts/run.d/*.sh; do
			[ -x "$hook" ] || continue
			RUN_DIR=$run_dir RPC_SOCK=$rpc_sock VHOST_SOCK_DIR=$run_dir "$hook" || true
		done
		break
	fi
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
wait $pid

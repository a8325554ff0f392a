# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the vhost functional tests: vhost-perf runs against a daemon."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vhostd import TOP, BUILD, Daemon, JSONRPCException, check, skip  # noqa: E402,F401

VHOST_PERF = os.environ.get("VHOST_PERF") or (
    os.path.join(TOP, BUILD, "app", "vhost-perf", "vhost-perf") if not os.path.isabs(BUILD)
    else os.path.join(BUILD, "app", "vhost-perf", "vhost-perf"))


def need_perf():
    if not os.path.exists(VHOST_PERF):
        skip("%s not built (run make)" % VHOST_PERF)


def perf_cmd(sock, *args, seconds=1, qd=16, size=4096, workload="randrw"):
    return [VHOST_PERF, "-s", sock, "-w", workload, "-q", str(qd), "-o", str(size),
            "-T", str(seconds), "--json"] + [str(a) for a in args]


def perf(sock, *args, seconds=1, qd=16, size=4096, workload="randrw", timeout=60):
    """Run vhost-perf; returns (exit code, parsed JSON or None, stderr)."""
    cp = subprocess.run(perf_cmd(sock, *args, seconds=seconds, qd=qd, size=size,
                                 workload=workload),
                        capture_output=True, text=True, timeout=timeout)
    try:
        out = json.loads(cp.stdout)
    except ValueError:
        out = None
    return cp.returncode, out, cp.stderr


def rpc_error(d, method, params):
    """Call and expect a JSON-RPC error; returns (code, message)."""
    try:
        d.rpc(method, params)
    except JSONRPCException as e:
        return e.code, e.message
    raise AssertionError("%s %r unexpectedly succeeded" % (method, params))


def malloc(d, name="Malloc0", mib=64, block_size=512):
    return d.rpc("bdev_malloc_create", {"name": name, "num_blocks": mib * 1048576 // block_size,
                                        "block_size": block_size})


def wait_no_sessions(d, name, timeout=5.0):
    """A client that exited is noticed by the daemon asynchronously: wait for it."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not d.rpc("vhost_get_controllers", {"name": name})[0]["sessions"]:
            return True
        time.sleep(0.02)
    return False

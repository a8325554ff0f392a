# SPDX-License-Identifier: BSD-3-Clause
"""Shared helpers for functional tests: run a real vhostd on a temp socket.

Usage from test/functional/<area>/test_*.py:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from vhostd import Daemon, skip, check

    with Daemon(cpumask="0x1") as d:          # starts, waits for framework_wait_init
        d.rpc("bdev_malloc_create", {"num_blocks": 2048, "block_size": 512})
        out = d.rpc_py("bdev_get_bdevs")     # runs scripts/rpc.py -s SOCK ...; stdout
        check(d.alive(), "daemon still serves")
    # leaving the block sends SIGTERM and waits (d.stop() to get the exit code)

Daemon(args=[...], cpumask=, mode=, wait=True, state=, config=, env=)
  .sock           RPC socket path (in a fresh temp dir .tmpdir, removed at the end)
  .tmpdir         temp dir; also the vhost socket dir (-S) unless args override it
  .proc / .pid    the subprocess; stderr+stdout go to .log_path
  .rpc(m, p)      call over a new JSONRPCClient; returns result, raises JSONRPCException
  .raw(req)       send exact bytes/str/object (even empty params), return the response
  .client()       a connected JSONRPCClient (scripts/rpc.py's class)
  .rpc_py(*argv, check=True) run scripts/rpc.py -s SOCK argv...; returns CompletedProcess
  .alive()        True if the process runs and answers spdk_get_version
  .stop(sig=SIGTERM, timeout=5) -> exit code (and elapsed seconds in .stop_seconds)
  .log()          the daemon's output so far
  cleanup()/with-exit raise AssertionError if the log has sanitizer findings
Environment: VHD_WRAPPER, a command prefix for the daemon (e.g. valgrind, see
scripts/valgrind.sh); VHD_TIMEOUT_SCALE (default 1) multiplies the start and
stop timeouts for such slow runs.
Module helpers: TOP (repo root), VHOSTD (binary, $BUILD honoured), RPC_PY,
skip(reason) (exit 77, reason on the last line), check(cond, what) (raises
AssertionError with `what` and the daemon log tail when run under run_test()),
run_test(fn) (calls fn(), prints PASS/FAIL, exits 0/1).
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("BUILD", "build")
VHOSTD = os.path.join(TOP, BUILD, "app", "vhostd", "vhostd") if not os.path.isabs(BUILD) \
    else os.path.join(BUILD, "app", "vhostd", "vhostd")
RPC_PY = os.path.join(TOP, "scripts", "rpc.py")
WRAPPER = shlex.split(os.environ.get("VHD_WRAPPER", ""))
TIMEOUT_SCALE = float(os.environ.get("VHD_TIMEOUT_SCALE", "1") or 1)

sys.path.insert(0, os.path.join(TOP, "scripts"))
from rpc import JSONRPCClient, JSONRPCException  # noqa: E402,F401


def skip(reason):
    print(reason)
    sys.exit(77)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Daemon:
    def __init__(self, args=None, cpumask="0x1", mode=None, wait=True, state=None, config=None,
                 env=None, start=True, timeout=10.0):
        if not os.path.exists(VHOSTD):
            skip("%s not built (run make)" % VHOSTD)
        self.tmpdir = tempfile.mkdtemp(prefix="vhd-test-")
        self.sock = os.path.join(self.tmpdir, "vhostd.sock")
        self.log_path = os.path.join(self.tmpdir, "vhostd.log")
        self.args = list(args or [])
        self.cpumask = cpumask
        self.mode = mode
        self.state = state
        self.config = config
        self.env = env
        self.proc = None
        self.stop_seconds = None
        if start:
            self.start(wait=wait, timeout=timeout)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        cmd = WRAPPER + [VHOSTD, "-r", self.sock]
        if "-S" not in self.args and "--vhost-sock-dir" not in self.args:
            cmd += ["-S", self.tmpdir]
        if self.cpumask:
            cmd += ["-m", self.cpumask]
        if self.mode:
            cmd += ["--mode", self.mode]
        if self.state:
            cmd += ["--state", self.state]
        if self.config:
            cmd += ["-c", self.config]
        return cmd + self.args

    def start(self, wait=True, timeout=10.0):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        env.update(self.env or {})
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.tmpdir)
        if wait:
            self.wait_ready(timeout * TIMEOUT_SCALE)
        return self

    def wait_socket(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vhostd exited with %d:\n%s" % (self.proc.returncode,
                                                                   self.log()))
            if os.path.exists(self.sock):
                try:
                    JSONRPCClient(self.sock, timeout=2).close()
                    return
                except JSONRPCException:
                    pass
            time.sleep(0.02)
        raise RuntimeError("vhostd socket did not appear in %.0f s:\n%s" % (timeout, self.log()))

    def wait_ready(self, timeout=10.0):
        """Wait for the socket, then for framework_wait_init (skipped with --wait-for-rpc)."""
        self.wait_socket(timeout)
        if "--wait-for-rpc" not in self.args:
            self.rpc("framework_wait_init")

    def client(self, timeout=10.0):
        return JSONRPCClient(self.sock, timeout=timeout)

    def rpc(self, method, params=None, timeout=10.0):
        with self.client(timeout) as c:
            return c.call(method, params)

    def raw(self, request, timeout=10.0):
        """Send `request` (bytes, str, or an object to serialise as is, params kept even
        when empty) on a new connection; return the first response object."""
        if isinstance(request, (dict, list)):
            request = json.dumps(request)
        if isinstance(request, str):
            request = request.encode()
        with self.client(timeout) as c:
            c.sock.sendall(request)
            return c.recv()

    def rpc_py(self, *argv, check=True, timeout=30):
        cmd = [sys.executable, RPC_PY, "-s", self.sock] + [str(a) for a in argv]
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and cp.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(cmd), cp.returncode,
                                                           cp.stdout, cp.stderr))
        return cp

    def alive(self):
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            return self.rpc("spdk_get_version", timeout=5)["version"].startswith("vhostd")
        except (JSONRPCException, OSError):
            return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal the daemon and wait; returns the exit code (-SIG if killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * TIMEOUT_SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.stop_seconds = time.monotonic() - t0
        self._log.close()
        return self.proc.returncode

    def sanitizer_errors(self):
        """Lines of the log that report an ASan/UBSan/LSan finding (BUILD=build/asan)."""
        return [l for l in self.log().splitlines()
                if "Sanitizer" in l or "runtime error:" in l]

    def cleanup(self):
        self.stop()
        bad = self.sanitizer_errors()
        log = self.log()
        subprocess.run(["rm", "-rf", self.tmpdir])
        if bad:
            raise AssertionError("sanitizer findings in vhostd:\n%s" % log[-8000:])

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("---- vhostd log ----\n%s\n" % self.log()[-5000:])
        self.cleanup()


def run_test(fn):
    """Run fn(); print the outcome; exit 0 on success, 1 on failure, 77 on skip."""
    name = os.path.basename(sys.argv[0])
    try:
        fn()
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        print("FAIL %s: %s" % (name, e))
        sys.exit(1)
    print("PASS %s" % name)
    sys.exit(0)

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Start/stop: SIGTERM and SIGINT stop within 1 s with exit 0 and remove socket, lock and
pidfile; a second daemon on the same socket is refused; spdk_kill_instance;
--wait-for-rpc + framework_start_init; idle CPU in adaptive mode."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import TIMEOUT_SCALE, VHOSTD, Daemon, JSONRPCException, check, run_test  # noqa: E402


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime (fields 14, 15)


def main():
    # SIGTERM and SIGINT: exit 0 in under 1 s; socket, lock and pidfile removed.
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Daemon(args=["--pidfile", "PIDFILE"])
        try:
            pidfile = os.path.join(d.tmpdir, "PIDFILE")
            with open(pidfile) as f:
                check(int(f.read()) == d.pid, "pidfile holds the pid")
            check(oct(os.stat(d.sock).st_mode & 0o777) == "0o600", "socket mode 0600")
            check(os.path.exists(d.sock + ".lock"), "lock file exists")
            # A client mid-request must not delay the shutdown.
            import socket
            c = socket.socket(socket.AF_UNIX)
            c.connect(d.sock)
            c.sendall(b'{"method":"spdk_get_ver')
            rc = d.stop(sig, timeout=5)
            c.close()
            check(rc == 0, "%s: exit %s" % (sig.name, rc))
            check(d.stop_seconds < 1.0 * TIMEOUT_SCALE,
                  "%s: stopped in %.3f s" % (sig.name, d.stop_seconds))
            check(not os.path.exists(d.sock), "socket removed")
            check(not os.path.exists(d.sock + ".lock"), "lock removed")
            check(not os.path.exists(pidfile), "pidfile removed")
            print("%s: exit 0 in %.3f s" % (sig.name, d.stop_seconds))
        finally:
            d.cleanup()

    # A second daemon on the same socket is refused (exit 1), the first keeps serving.
    with Daemon() as d1:
        p = subprocess.run([VHOSTD, "-r", d1.sock, "-S", d1.tmpdir], capture_output=True,
                           text=True, timeout=10 * TIMEOUT_SCALE)
        check(p.returncode == 1, "second daemon exit %d" % p.returncode)
        check("in use" in p.stderr, "second daemon says why: %s" % p.stderr)
        check(d1.alive(), "first daemon still serves")
        check(os.path.exists(d1.sock + ".lock"), "lock kept")
        # A stale socket file (no lock holder) is replaced.
    with Daemon(start=False) as d:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(d.sock)
        s.close()
        d.start()
        check(d.alive(), "stale socket replaced")
    # A regular file at the socket path is not clobbered.
    with Daemon(start=False) as d:
        open(d.sock, "w").write("precious")
        p = subprocess.run(d.command(), capture_output=True, text=True,
                           timeout=10 * TIMEOUT_SCALE)
        check(p.returncode == 1 and open(d.sock).read() == "precious",
              "non-socket at the path: exit %d" % p.returncode)

    # spdk_kill_instance SIGTERM: answered, then a clean exit 0.
    with Daemon() as d:
        check(d.rpc("spdk_kill_instance", {"sig_name": "SIGTERM"}) is True, "kill answered")
        d.proc.wait(5 * TIMEOUT_SCALE)
        check(d.proc.returncode == 0, "kill_instance exit %d" % d.proc.returncode)
        check(not os.path.exists(d.sock), "socket removed after spdk_kill_instance")

    # --wait-for-rpc: STARTUP state until framework_start_init.
    with Daemon(args=["--wait-for-rpc"]) as d:
        try:
            d.rpc("framework_get_reactors")
            raise AssertionError("RUNTIME method worked in STARTUP")
        except JSONRPCException as e:
            check(e.code == -1 and "framework_start_init" in e.message, e.message)
        check("framework_start_init" in d.rpc("rpc_get_methods", {"current": True}),
              "framework_start_init current in STARTUP")
        d.rpc("log_set_flag", {"flag": "thread"})   # STARTUP|RUNTIME methods work
        waiter = d.client()
        wid = waiter.send("framework_wait_init")    # answered only after start
        check(d.rpc("framework_start_init") is True, "framework_start_init")
        r = waiter.recv()
        check(r["id"] == wid and r["result"] is True, "framework_wait_init answered: %s" % r)
        waiter.close()
        check(len(d.rpc("framework_get_reactors")["reactors"]) == 1, "RUNTIME after start")
        try:
            d.rpc("framework_start_init")
            raise AssertionError("framework_start_init twice")
        except JSONRPCException as e:
            check(e.code == -1, "second framework_start_init: %s" % e.message)

    # sd_notify: READY=1 once the socket listens, STOPPING=1 on shutdown (a fake systemd).
    import socket
    with Daemon(start=False) as d:
        ns_path = os.path.join(d.tmpdir, "notify")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(ns_path)
        ns.settimeout(10 * TIMEOUT_SCALE)
        d.env = {"NOTIFY_SOCKET": ns_path}
        d.start(wait=False)
        msg = ns.recv(4096).decode()
        check("READY=1" in msg, "READY=1: %r" % msg)
        check(os.path.exists(d.sock) and d.rpc("framework_wait_init") is True,
              "socket serves when READY=1 arrives")
        d.proc.send_signal(signal.SIGTERM)
        msg = ns.recv(4096).decode()
        check("STOPPING=1" in msg, "STOPPING=1: %r" % msg)
        check(d.stop() == 0, "exit 0")
        ns.close()

    # Idle CPU in adaptive mode (the default) and interrupt mode: < 1 % over 3 s.
    hz = os.sysconf("SC_CLK_TCK")
    for mode in ("adaptive", "interrupt"):
        with Daemon(cpumask="0x1", mode=mode) as d:
            time.sleep(0.5)
            t0, c0 = time.monotonic(), cpu_ticks(d.pid)
            time.sleep(3)
            t1, c1 = time.monotonic(), cpu_ticks(d.pid)
            pct = 100.0 * (c1 - c0) / hz / (t1 - t0)
            print("%s idle CPU: %.2f%% over %.1f s" % (mode, pct, t1 - t0))
            check(pct < 1.0, "%s mode idle CPU %.2f%%" % (mode, pct))


run_test(main)

# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the vhost-scsi functional tests: a daemon, vscsi-client (a scriptable
virtio-scsi initiator on lib/virtio) and vhost-perf -t scsi."""

import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "vhost"))
from vhostd import TOP, BUILD, Daemon, JSONRPCException, check, skip  # noqa: E402,F401
from vhostlib import VHOST_PERF, need_perf, perf, perf_cmd, rpc_error, malloc  # noqa: E402,F401


def _bin(rel):
    return os.path.join(TOP, BUILD, rel) if not os.path.isabs(BUILD) else os.path.join(BUILD, rel)


CLIENT = os.environ.get("VSCSI_CLIENT") or _bin("test/functional/vhost_scsi/vscsi-client")

# virtio-scsi constants (linux/virtio_scsi.h)
S_OK, S_BAD_TARGET, S_FAILURE, S_INCORRECT_LUN = 0, 3, 9, 12
S_FUNCTION_SUCCEEDED, S_FUNCTION_REJECTED = 10, 11
T_TRANSPORT_RESET, T_PARAM_CHANGE, T_EVENTS_MISSED = 1, 3, 0x80000000
EVT_RESCAN, EVT_REMOVED = 1, 2
F_INOUT, F_HOTPLUG, F_CHANGE = 0, 1, 2
CHECK_CONDITION = 2


def need_client():
    if not os.path.exists(CLIENT):
        skip("%s not built (run make)" % CLIENT)


class Resp:
    """A command's answer: response byte, SCSI status, resid, sense bytes, used len, data."""

    def __init__(self, line):
        f = line.split()
        if f[0] == "used":
            self.response = None
            self.used = int(f[1])
            return
        check(f[0] == "done", "unexpected client answer %r" % line)
        self.id = int(f[1])
        kv = dict(zip(f[2::2], f[3::2]))
        self.response = int(kv["resp"])
        self.status = int(kv["status"])
        self.resid = int(kv["resid"])
        self.sense = bytes.fromhex(kv["sense"]) if kv["sense"] != "-" else b""
        self.used = int(kv["used"])
        self.data = bytes.fromhex(kv["data"]) if kv["data"] != "-" else b""

    @property
    def sense_key(self):
        if len(self.sense) < 3:
            return None
        return (self.sense[1] if (self.sense[0] & 0x7f) >= 0x72 else self.sense[2]) & 0x0f

    @property
    def asc(self):
        if (self.sense[0] & 0x7f) >= 0x72:
            return (self.sense[2], self.sense[3])
        return (self.sense[12], self.sense[13])

    def __repr__(self):
        return "Resp(%r)" % self.__dict__


class Client:
    def __init__(self, sock, packed=False, timeout=20.0):
        need_client()
        args = [CLIENT, sock] + (["--packed"] if packed else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.timeout = timeout
        first = self.readline()
        check(first.startswith("ready"), "client did not connect: %r %s" %
              (first, self.proc.stderr.read() if self.proc.poll() is not None else ""))
        self.features = int(first.split()[2], 16)

    def readline(self, timeout=None):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout or self.timeout)
        check(r, "vscsi-client did not answer in time")
        line = self.proc.stdout.readline()
        check(line != "", "vscsi-client exited (%s)" % self.proc.poll())
        return line.strip()

    def ask(self, line, timeout=None):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.readline(timeout)

    def cmd(self, t, lun, cdb, in_len=0, out=None):
        return Resp(self.ask("cmd %d %d %s %d %s" % (t, lun, cdb.hex(), in_len,
                                                       out.hex() if out else "-")))

    def send(self, t, lun, cdb, in_len=0, out=None):
        a = self.ask("send %d %d %s %d %s" % (t, lun, cdb.hex(), in_len,
                                               out.hex() if out else "-"))
        check(a.startswith("sent"), "send: %r" % a)
        return int(a.split()[1])

    def reap(self, ms=5000):
        a = self.ask("reap %d" % ms, timeout=ms / 1000.0 + 10)
        return None if a == "none" else Resp(a)

    def raw(self, lun8, cdb, in_len=0, out=None, hdr_len=51):
        return Resp(self.ask("raw %s %s %d %s %d" % (lun8.hex(), cdb.hex(), in_len,
                                                     out.hex() if out else "-", hdr_len)))

    def tmf(self, sub, t, lun, tag=0):
        a = self.ask("tmf %d %d %d %d" % (sub, t, lun, tag))
        check(a.startswith("tmf"), "tmf: %r" % a)
        return int(a.split()[1])

    def an(self, typ, t):
        a = self.ask("an %d %d" % (typ, t)).split()
        check(a[0] == "an", "an: %r" % a)
        return int(a[1]), int(a[2]), int(a[4])

    def post(self, n):
        check(self.ask("post %d" % n) == "ok", "post %d event buffers" % n)

    def event(self, ms=2000):
        a = self.ask("event %d" % ms, timeout=ms / 1000.0 + 10).split()
        if a[0] == "none":
            return None
        check(a[0] == "event", "event: %r" % a)
        return (int(a[1], 16), int(a[2]), int(a[3]), int(a[4]))

    def ready(self, t, lun=0, tries=4):
        """TEST UNIT READY until the unit attentions are consumed."""
        for _ in range(tries):
            r = self.cmd(t, lun, bytes(6))
            if r.response == S_OK and r.status == 0:
                return r
        return r

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def read_capacity16(c, t, lun=0):
    r = c.cmd(t, lun, bytes([0x9e, 0x10] + [0] * 11 + [32, 0, 0]), 32)
    if r.response != S_OK or r.status != 0:
        return None, r
    last = int.from_bytes(r.data[0:8], "big")
    bs = int.from_bytes(r.data[8:12], "big")
    return (last + 1) * bs, r


def wait_for(fn, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def run(main):
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - any error fails the test, with its text
        print("FAIL: %s: %s" % (type(e).__name__, e))
        sys.exit(1)
    print("PASS")
    sys.exit(0)

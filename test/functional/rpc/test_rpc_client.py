#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/rpc.py's JSONRPCClient against a scripted fake server: request shape (ids,
None-dropping, empty params left out, raw mode keeps them), responses split or
coalesced, errors, timeouts, EOF; the CLI's exit codes and printing rules."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import RPC_PY, JSONRPCClient, JSONRPCException, check, run_test  # noqa: E402


class FakeServer:
    """Accepts connections; for each request calls reply(req) -> list of raw byte chunks."""

    def __init__(self, path, reply):
        self.path, self.reply, self.requests = path, reply, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def conn(self, c):
        dec, buf = json.JSONDecoder(), ""
        while True:
            data = c.recv(65536)
            if not data:
                c.close()
                return
            buf += data.decode()
            while buf.strip():
                try:
                    req, end = dec.raw_decode(buf.lstrip())
                except ValueError:
                    break
                buf = buf.lstrip()[end:]
                self.requests.append(req)
                for chunk in self.reply(req):
                    if chunk is None:
                        c.close()
                        return
                    c.sendall(chunk)


def answer(req):
    m = req["method"]
    if m == "split":
        r = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": {"a": "é" * 10}}).encode()
        return [r[:7], r[7:8], r[8:]]
    if m == "two":   # a stray notification-style error first, then the answer
        return [b'{"jsonrpc":"2.0","id":999,"result":1}\n' +
                json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": "ok"}).encode()]
    if m == "fail":
        return [json.dumps({"jsonrpc": "2.0", "id": req["id"],
                            "error": {"code": -32602, "message": "bad thing"}}).encode()]
    if m == "silent":
        return []
    if m == "hangup":
        return [None]
    if m == "log_set_flag":
        return [json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": True}).encode()]
    return [json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": req.get("params")}).encode()
            + b"\n"]


def main():
    tmp = tempfile.mkdtemp(prefix="vhd-rpcpy-")
    path = os.path.join(tmp, "fake.sock")
    srv = FakeServer(path, answer)

    c = JSONRPCClient(path, timeout=2)
    check(c.call("echo", {"a": 1, "b": None}) == {"a": 1}, "None values dropped")
    check(srv.requests[-1] == {"jsonrpc": "2.0", "method": "echo", "id": 1,
                               "params": {"a": 1}}, "request shape: %s" % srv.requests[-1])
    c.call("echo", {})
    check("params" not in srv.requests[-1] and srv.requests[-1]["id"] == 2, "empty params left out")
    c.call("echo", {"x": None})
    check("params" not in srv.requests[-1], "all-None params left out")
    c.call("echo", {}, raw=True)
    check(srv.requests[-1]["params"] == {}, "raw keeps {}")
    check(c.call("echo", [1, 2]) == [1, 2], "array params")
    check(c.call("split") == {"a": "é" * 10}, "split response with multi-byte UTF-8")
    check(c.call("two") == "ok", "answer matched by id")
    try:
        c.call("fail")
        raise AssertionError("error not raised")
    except JSONRPCException as e:
        check(e.code == -32602 and e.message == "bad thing", "error: %s %s" % (e.code, e.message))
    try:
        c.call("silent")
        raise AssertionError("timeout not raised")
    except JSONRPCException as e:
        check("Timeout" in e.message, e.message)
    c.close()
    c = JSONRPCClient(path, timeout=2)
    try:
        c.call("hangup")
        raise AssertionError("EOF not raised")
    except JSONRPCException as e:
        check("closed" in e.message, e.message)
    try:
        JSONRPCClient(os.path.join(tmp, "nope.sock"), timeout=1)
        raise AssertionError("connect error not raised")
    except JSONRPCException as e:
        check("connecting" in e.message, e.message)

    def cli(*argv):
        return subprocess.run([sys.executable, RPC_PY, "-s", path] + list(argv),
                              capture_output=True, text=True, timeout=20)

    # Printing: strings bare, true nothing, objects as indented JSON; errors exit 1.
    cp = cli("call", "echo", '"str"')
    check(cp.returncode == 0 and cp.stdout == '"str"\n', "raw prints JSON: %r" % cp.stdout)
    cp = cli("log_set_flag", "thread")
    check(cp.returncode == 0 and cp.stdout == "", "true prints nothing: %r" % cp.stdout)
    check(srv.requests[-1]["params"] == {"flag": "thread"}, "log_set_flag params")
    cp = cli("framework_get_config", "bdev")
    check(json.loads(cp.stdout) == {"name": "bdev"}, "object printed as JSON: %r" % cp.stdout)
    cp = cli("call", "fail")
    check(cp.returncode == 1 and "bad thing" in cp.stderr and '"code": -32602' in cp.stderr,
          "error exit 1: %d %r" % (cp.returncode, cp.stderr))
    cp = cli("call", "echo", "{not json")
    check(cp.returncode == 1 and "not valid JSON" in cp.stderr, "bad raw params: %r" % cp.stderr)
    cp = cli("-t", "1", "call", "silent")
    check(cp.returncode == 1 and "Timeout" in cp.stderr, "timeout exit 1: %r" % cp.stderr)
    cp = subprocess.run([sys.executable, RPC_PY, "-s", os.path.join(tmp, "nope"),
                         "spdk_get_version"], capture_output=True, text=True, timeout=20)
    check(cp.returncode == 1 and "connecting" in cp.stderr, "no daemon: %r" % cp.stderr)
    cp = subprocess.run([sys.executable, RPC_PY], capture_output=True, text=True, timeout=20)
    check(cp.returncode == 2, "no method: exit %d" % cp.returncode)
    cp = subprocess.run([sys.executable, RPC_PY, "no_such_subcommand"], capture_output=True,
                        text=True, timeout=20)
    check(cp.returncode == 2, "unknown subcommand: exit %d" % cp.returncode)
    cp = subprocess.run([sys.executable, RPC_PY, "--help"], capture_output=True, text=True,
                        timeout=20)
    for m in ("rpc_get_methods", "save_config", "spdk_kill_instance", "call"):
        check(m in cp.stdout, "--help lists %s" % m)
    subprocess.run(["rm", "-rf", tmp])


run_test(main)

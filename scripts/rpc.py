#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhostd JSON-RPC client, command-line compatible with SPDK's scripts/rpc.py.

    rpc.py [-s SOCK] [-t TIMEOUT] [-v] METHOD [args...]
    rpc.py [-s SOCK] call METHOD ['{"json": "params"}']      raw mode, any method

Standard library only. Prints results as JSON (a string result bare, a `true`
result not at all, like SPDK's rpc.py); on a JSON-RPC error prints the server's
code and message to stderr and exits 1.

Importable client:

    sys.path.insert(0, "scripts"); from rpc import JSONRPCClient, JSONRPCException
    c = JSONRPCClient("/var/tmp/vhostd.sock", timeout=60.0)
    c.call("bdev_malloc_create", {"num_blocks": 2048, "block_size": 512})

Plugin contract (how each area adds its subcommands without editing this file):
every scripts/rpc/<area>.py (loaded in sorted file-name order; also looked up
in <prefix>/share/vhostd/rpc/ when installed) may define

    def register(subparsers, client_factory):
        p = subparsers.add_parser("bdev_malloc_create", help="...")
        p.add_argument("-b", "--name")
        ...
        p.set_defaults(func=lambda args: client_factory(args).call(
            "bdev_malloc_create", {"name": args.name, ...}))

`client_factory(args)` returns a connected JSONRPCClient for the global -s/-t/-v
options. `func(args)` returns the value to print (None prints nothing). Keys
whose value is None are dropped from params (optional arguments not given are
absent, never null), and empty params are not sent at all, as SPDK does. Use
SPDK's method names, parameter names and argument shapes. Do not add an
__init__.py to scripts/rpc/ (it would shadow this module for importers).
"""

import argparse
import codecs
import glob
import importlib.util
import json
import os
import socket
import sys
import time

DEFAULT_SOCK = "/var/tmp/vhostd.sock"


class JSONRPCException(Exception):
    """A JSON-RPC error response (code, message) or a transport failure (code None)."""

    def __init__(self, message, code=None, request=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.request = request


class JSONRPCClient:
    """Blocking JSON-RPC 2.0 client over a Unix socket path or "host:port"."""

    def __init__(self, addr=DEFAULT_SOCK, timeout=60.0, verbose=False, conn_retries=0):
        self.addr = addr
        self.timeout = timeout
        self.verbose = verbose
        self._id = 0
        self._text = ""
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._decoder = json.JSONDecoder()
        last = None
        for attempt in range(conn_retries + 1):
            try:
                self.sock = self._connect(addr, timeout)
                return
            except OSError as e:
                last = e
                if attempt < conn_retries:
                    time.sleep(0.2)
        raise JSONRPCException("Error while connecting to %s\nError details: %s" % (addr, last))

    @staticmethod
    def _connect(addr, timeout):
        if addr.startswith("/") or ":" not in addr:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(addr)
            return s
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)), timeout)
        s.settimeout(timeout)
        return s

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, method, params=None, raw=False):
        """Send one request; returns its id. Unless `raw`, None values are dropped from
        params and empty params are left out (SPDK's client does the same)."""
        self._id += 1
        req = {"jsonrpc": "2.0", "method": method, "id": self._id}
        if not raw and isinstance(params, dict):
            params = {k: v for k, v in params.items() if v is not None}
        if params or (raw and params is not None):
            req["params"] = params
        data = json.dumps(req)
        if self.verbose:
            print("request:\n" + json.dumps(req, indent=2), file=sys.stderr)
        self.sock.sendall(data.encode())
        self._last_request = req
        return self._id

    def recv(self):
        """Read one response object (blocking up to the timeout)."""
        deadline = time.monotonic() + self.timeout if self.timeout else None
        while True:
            text = self._text.lstrip()
            if text:
                try:
                    obj, end = self._decoder.raw_decode(text)
                    self._text = text[end:]
                    if self.verbose:
                        print("response:\n" + json.dumps(obj, indent=2), file=sys.stderr)
                    return obj
                except ValueError:
                    pass
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JSONRPCException("Timeout while waiting for response")
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                raise JSONRPCException("Timeout while waiting for response")
            if not chunk:
                raise JSONRPCException("Connection closed with partial response")
            self._text += self._utf8.decode(chunk)

    def call(self, method, params=None, raw=False):
        """Call `method`; returns the result or raises JSONRPCException."""
        req_id = self.send(method, params, raw)
        while True:
            resp = self.recv()
            if resp.get("id") == req_id or resp.get("id") is None:
                break
        if "error" in resp:
            err = resp["error"]
            raise JSONRPCException(err.get("message", ""), err.get("code"),
                                   self._last_request)
        return resp.get("result")


def print_result(result):
    """SPDK's conventions: strings bare, `true` and null print nothing, the rest as JSON."""
    if result is None or result is True:
        return
    if isinstance(result, str):
        print(result)
    else:
        print(json.dumps(result, indent=2))


def _plugin_dirs():
    here = os.path.dirname(os.path.realpath(__file__))
    dirs = [os.path.join(here, "rpc")]
    dirs.append(os.path.join(os.path.dirname(here), "share", "vhostd", "rpc"))
    return [d for d in dirs if os.path.isdir(d)]


def load_plugins(subparsers, client_factory):
    seen = set()
    for d in _plugin_dirs():
        for path in sorted(glob.glob(os.path.join(d, "*.py"))):
            name = os.path.basename(path)[:-3]
            if name in seen or name.startswith("_"):
                continue
            seen.add(name)
            spec = importlib.util.spec_from_file_location("vhostd_rpc_plugin_" + name, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            if hasattr(mod, "register"):
                mod.register(subparsers, client_factory)


def build_parser():
    parser = argparse.ArgumentParser(
        description="vhostd JSON-RPC client (SPDK-compatible command line)")
    parser.add_argument("-s", "--server", dest="server_addr", default=DEFAULT_SOCK,
                        help="RPC socket path or IP:PORT (default %(default)s)")
    parser.add_argument("-t", "--timeout", type=float, default=60.0,
                        help="seconds to wait for a response (default %(default)s)")
    parser.add_argument("-r", "--conn-retries", type=int, default=0,
                        help="retry connecting this many times, 0.2 s apart")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print requests and responses to stderr")
    subparsers = parser.add_subparsers(dest="called_rpc_name", metavar="METHOD")

    clients = {}

    def client_factory(args):
        key = (args.server_addr, args.timeout)
        if key not in clients:
            clients[key] = JSONRPCClient(args.server_addr, args.timeout, args.verbose,
                                         args.conn_retries)
        return clients[key]

    p = subparsers.add_parser("call", help="call any method with raw JSON params")
    p.add_argument("method", help="method name")
    p.add_argument("params", nargs="?", help="params as a JSON object or array")

    def raw_call(args):
        params = None
        if args.params is not None:
            try:
                params = json.loads(args.params)
            except ValueError as e:
                raise JSONRPCException("params are not valid JSON: %s" % e)
        result = client_factory(args).call(args.method, params, raw=True)
        print(json.dumps(result, indent=2))
        return None

    p.set_defaults(func=raw_call)
    load_plugins(subparsers, client_factory)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        print_result(args.func(args))
    except JSONRPCException as e:
        if e.code is not None:
            print("request:\n%s\nGot JSON-RPC error response\nresponse:\n%s" %
                  (json.dumps(e.request, indent=2),
                   json.dumps({"code": e.code, "message": e.message}, indent=2)),
                  file=sys.stderr)
        else:
            print(e.message, file=sys.stderr)
        return 1
    except OSError as e:
        print("rpc.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

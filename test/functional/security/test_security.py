#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Security limits of vhostd (issue 8, item 5), with a throwaway non-root user:

- the RPC socket is 0600 and owned by the daemon's user by default: the
  throwaway user cannot connect (EACCES); with --rpc-socket-mode 0660
  --rpc-socket-owner root:<group> or --rpc-socket-owner <user> it can;
- --vhost-sock-mode / --vhost-sock-owner are applied to vhost-user sockets;
- controller names that could leave the socket directory are refused
  ("../x", "a/b", ".", "..", "/abs", 65 characters, <dir>/<name> > 107 bytes)
  and no file appears outside the socket directory;
- limits, each with a clear error while the daemon keeps serving others:
  --max-controllers (blk and scsi), 64 RPC connections (the 65th is told
  "Too many connections"), 1 MiB requests (-32600, connection closed),
  outstanding requests per client (128 in the handler at once: more are read
  only as answers go out, so 2000 pipelined requests are all answered, in order).
Needs root (useradd, chown); skips otherwise.
"""
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vhostd import Daemon, JSONRPCClient, JSONRPCException, check, run_test, skip  # noqa: E402

USER = "vhdtest%d" % os.getpid()

# Run as the throwaway user: connect, call spdk_get_version, exit 0 / 13 (EACCES) / 1.
CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(13)
if len(sys.argv) > 2:
    sys.exit(0)
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"spdk_get_version"}')
r = json.loads(s.recv(65536).decode())
sys.exit(0 if "result" in r else 1)
"""


def user_python():
    """An interpreter the throwaway user may run (a pyenv under /root is not)."""
    for py in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        st = os.stat(py) if os.path.exists(py) else None
        if st is not None and st.st_mode & 0o001 and \
                all(os.stat(p).st_mode & 0o001 for p in parents(os.path.realpath(py))):
            return py
    skip("no python3 that a non-root user can run")


def parents(path):
    while path != "/":
        path = os.path.dirname(path)
        yield path


def as_user(sock, connect_only=False):
    pw = pwd.getpwnam(USER)
    argv = [user_python(), "-c", CLIENT, sock] + (["connect-only"] if connect_only else [])
    cp = subprocess.run(argv, user=pw.pw_uid, group=pw.pw_gid,
                        extra_groups=[], capture_output=True, text=True, timeout=30, cwd="/")
    if cp.returncode not in (0, 13):
        print("client as %s: rc %d %s" % (USER, cp.returncode, cp.stderr.strip()))
    return cp.returncode


def open_dir(d):
    """Let anyone traverse the daemon's temp dir: only the socket's own mode decides."""
    os.chmod(d.tmpdir, 0o755)


def expect_error(d, method, params, text):
    try:
        d.rpc(method, params)
    except JSONRPCException as e:
        check(text in e.message, "%s %s: error %r lacks %r" % (method, params, e.message, text))
        return e.message
    raise AssertionError("%s %s succeeded" % (method, params))


def test_rpc_socket_perms():
    with Daemon() as d:
        open_dir(d)
        st = os.stat(d.sock)
        check(stat.S_IMODE(st.st_mode) == 0o600, "default RPC socket mode %o" % st.st_mode)
        check(st.st_uid == os.geteuid(), "default RPC socket owner %d" % st.st_uid)
        check(as_user(d.sock) == 13, "non-root user reached the default RPC socket")
        print("default: RPC socket 0600 root, %s gets EACCES" % USER)
    with Daemon(args=["--rpc-socket-mode", "0660", "--rpc-socket-owner", "root:" + USER]) as d:
        open_dir(d)
        st = os.stat(d.sock)
        check(stat.S_IMODE(st.st_mode) == 0o660, "RPC socket mode %o" % st.st_mode)
        check(st.st_gid == grp.getgrnam(USER).gr_gid, "RPC socket group %d" % st.st_gid)
        check(as_user(d.sock) == 0, "group member cannot use a 0660 socket")
        check(d.alive(), "daemon serves root too")
        print("--rpc-socket-mode 0660 --rpc-socket-owner root:%s: %s connects" % (USER, USER))
    with Daemon(args=["--rpc-socket-owner", USER]) as d:
        open_dir(d)
        st = os.stat(d.sock)
        check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == pwd.getpwnam(USER).pw_uid,
              "--rpc-socket-owner USER: mode %o uid %d" % (st.st_mode, st.st_uid))
        check(as_user(d.sock) == 0, "owner cannot connect")
        print("--rpc-socket-owner %s: 0600, %s connects" % (USER, USER))
    # Bad values are refused at start, with the reason.
    for args, text in ((["--rpc-socket-mode", "0999"], "invalid --rpc-socket-mode"),
                       (["--rpc-socket-mode", "4777"], "invalid --rpc-socket-mode"),
                       (["--rpc-socket-owner", "nosuchuser%d" % os.getpid()], "unknown user"),
                       (["--vhost-sock-owner", ":nosuchgrp%d" % os.getpid()], "unknown group"),
                       (["--vhost-sock-mode", "rw"], "invalid --vhost-sock-mode"),
                       (["--max-controllers", "0"], "invalid --max-controllers"),
                       (["--max-controllers", "1025"], "invalid --max-controllers")):
        d = Daemon(args=args, start=False)
        cp = subprocess.run(d.command(), capture_output=True, text=True, timeout=10)
        d.cleanup()
        check(cp.returncode == 2 and text in cp.stderr, "%s: rc %d %r" % (args, cp.returncode,
                                                                         cp.stderr))


def test_vhost_sock_perms():
    with Daemon() as d:
        open_dir(d)
        d.rpc("bdev_malloc_create", {"name": "m0", "num_blocks": 2048, "block_size": 512})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "m0"})
        path = os.path.join(d.tmpdir, "blk0")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode & 0o002 == 0, "default vhost socket is world-writable: %o" % mode)
        check(as_user(path, connect_only=True) == 13, "non-root user reached a vhost socket")
        print("default: vhost socket %o (umask), %s gets EACCES" % (mode, USER))
    with Daemon(args=["--vhost-sock-mode", "0660", "--vhost-sock-owner", "%s:%s" % (USER, USER)]) \
            as d:
        d.rpc("bdev_malloc_create", {"name": "m0", "num_blocks": 2048, "block_size": 512})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "m0"})
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        pw = pwd.getpwnam(USER)
        for name in ("blk0", "scsi0"):
            st = os.stat(os.path.join(d.tmpdir, name))
            check(stat.S_ISSOCK(st.st_mode), "%s is a socket" % name)
            check(stat.S_IMODE(st.st_mode) == 0o660, "%s mode %o" % (name, st.st_mode))
            check(st.st_uid == pw.pw_uid and st.st_gid == pw.pw_gid,
                  "%s owner %d:%d" % (name, st.st_uid, st.st_gid))
        open_dir(d)
        check(as_user(os.path.join(d.tmpdir, "blk0"), connect_only=True) == 0,
              "socket owner cannot connect to its vhost socket")
        print("--vhost-sock-mode 0660 --vhost-sock-owner %s:%s applied to blk and scsi" %
              (USER, USER))


def test_names():
    # A deep socket dir so that a legal 50-character name makes a path over 107 bytes.
    with Daemon(start=False) as d:
        deep = os.path.join(d.tmpdir, "s" * max(1, 80 - len(d.tmpdir)))
        os.mkdir(deep)
        d.args = ["-S", deep]
        d.start()
        d.rpc("bdev_malloc_create", {"name": "m0", "num_blocks": 2048, "block_size": 512})
        before = sorted(os.listdir(d.tmpdir))
        bad = ["../x", "a/b", "/tmp/x", ".", "..", "", "x" * 65, "a b", "a\nb", "..\\x"]
        for name in bad:
            expect_error(d, "vhost_create_blk_controller", {"ctrlr": name, "dev_name": "m0"},
                         "Invalid argument: ctrlr must be")
            expect_error(d, "vhost_create_scsi_controller", {"ctrlr": name},
                         "Invalid argument: ctrlr must be")
        long_name = "n" * (107 - len(deep))
        check(len(deep) + 1 + len(long_name) > 107 and len(long_name) <= 64, "test set-up")
        msg = expect_error(d, "vhost_create_blk_controller",
                           {"ctrlr": long_name, "dev_name": "m0"}, "File name too long")
        expect_error(d, "vhost_create_scsi_controller", {"ctrlr": long_name}, "File name too long")
        print("refused: %s; overlong: %s" % (", ".join(repr(n) for n in bad), msg))
        # One byte shorter fits exactly (107 bytes).
        d.rpc("vhost_create_blk_controller", {"ctrlr": long_name[:-1], "dev_name": "m0"})
        check(os.path.exists(os.path.join(deep, long_name[:-1])), "107-byte path socket")
        check(sorted(os.listdir(d.tmpdir)) == before, "files appeared next to the socket dir: %s"
              % sorted(set(os.listdir(d.tmpdir)) - set(before)))
        # bdev names never become paths: whatever the bdev layer accepts creates no file.
        for name in ("../bx", "a/bx"):
            try:
                d.rpc("bdev_malloc_create", {"name": name, "num_blocks": 2048, "block_size": 512})
                d.rpc("bdev_malloc_delete", {"name": name})
            except JSONRPCException:
                pass
        check(sorted(os.listdir(d.tmpdir)) == before, "a bdev name created a file")
        check(not os.path.exists(os.path.join(d.tmpdir, "bx")), "bdev name made a path")


def test_limits():
    with Daemon(args=["--max-controllers", "4"]) as d:
        d.rpc("bdev_malloc_create", {"name": "m0", "num_blocks": 2048, "block_size": 512})
        for i in range(3):
            d.rpc("vhost_create_blk_controller", {"ctrlr": "b%d" % i, "dev_name": "m0"})
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "s0"})
        msg = expect_error(d, "vhost_create_blk_controller", {"ctrlr": "b3", "dev_name": "m0"},
                           "Too many controllers: the limit is 4")
        expect_error(d, "vhost_create_scsi_controller", {"ctrlr": "s1"},
                     "Too many controllers: the limit is 4")
        check(not os.path.exists(os.path.join(d.tmpdir, "b3")), "refused controller has a socket")
        check(len(d.rpc("vhost_get_controllers")) == 4, "4 controllers")
        d.rpc("vhost_delete_controller", {"ctrlr": "b0"})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "b3", "dev_name": "m0"})
        print("controllers: 5th refused with %r; after a delete one more fits" % msg)

        # 64 connections; the 65th is told why it is closed; the others still work.
        conns = [d.client() for _ in range(64)]
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.settimeout(10)
        extra.connect(d.sock)
        data = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            data += chunk
        extra.close()
        resp = json.loads(data.decode())
        check(resp["error"]["code"] == -32000 and resp["id"] is None, "65th: %r" % resp)
        check("Too many connections: the limit is 64 clients" in resp["error"]["message"],
              "65th: %r" % resp)
        for c in conns[::7]:
            check(c.call("spdk_get_version")["version"], "a connected client still served")
        for c in conns:
            c.close()
        time.sleep(0.2)
        check(d.alive(), "served once the clients left")
        print("connections: 65th got %r" % resp["error"]["message"])

        # A request over 1 MiB: -32600, connection closed, the others unaffected.
        other = d.client()
        big = b'{"jsonrpc":"2.0","id":1,"method":"bdev_get_bdevs","params":{"name":"' + \
            b"x" * (1024 * 1024 + 100) + b'"}}'
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(d.sock)
        try:
            s.sendall(big)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        s.close()
        resp = json.loads(data.decode().splitlines()[0])
        check(resp["error"]["code"] == -32600 and "larger than 1048576 bytes" in
              resp["error"]["message"], "big request: %r" % resp)
        check(other.call("spdk_get_version")["version"], "other client served after big request")
        other.close()
        print("request size: %r" % resp["error"]["message"])

        # 2000 pipelined requests on one connection: all answered, in order, while a second
        # client is served meanwhile (the server reads at most 128 ahead of its answers).
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(d.sock)
        n = 2000
        s.sendall(b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"bdev_get_bdevs"}' % i
                           for i in range(n)))
        check(d.rpc("spdk_get_version")["version"], "second client served during the flood")
        dec = json.JSONDecoder()
        text, ids = "", []
        while len(ids) < n:
            chunk = s.recv(1 << 16)
            check(chunk, "connection closed after %d answers" % len(ids))
            text += chunk.decode()
            while True:
                text = text.lstrip()
                if not text:
                    break
                try:
                    obj, end = dec.raw_decode(text)
                except ValueError:
                    break
                check("result" in obj, "pipelined answer %r" % obj)
                ids.append(obj["id"])
                text = text[end:]
        s.close()
        check(ids == list(range(n)), "answers out of order")
        check(d.alive(), "alive after the flood")
        print("outstanding requests: %d pipelined answered in order" % n)


def main():
    if os.geteuid() != 0:
        skip("needs root (useradd, chown of sockets)")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        skip("useradd/userdel not installed")
    cp = subprocess.run(["useradd", "-M", "-r", "-U", "-s", "/usr/sbin/nologin", USER],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        skip("cannot create a throwaway user: %s" % cp.stderr.strip())
    # A runner's timeout (SIGTERM/SIGINT) still removes the user.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        test_rpc_socket_perms()
        test_vhost_sock_perms()
        test_names()
        test_limits()
    finally:
        subprocess.run(["userdel", USER], capture_output=True)
        subprocess.run(["groupdel", USER], capture_output=True)


if __name__ == "__main__":
    run_test(main)

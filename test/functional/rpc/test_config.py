#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""save_config -> restart with -c round-trips; --state is rewritten atomically after each
mutating RPC and restores the state on restart; a failing config entry stops start-up."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import Daemon, check, run_test  # noqa: E402


def write(path, obj):
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def main():
    # save_config -> -c round trip.
    with Daemon() as d:
        d.rpc_py("log_set_flag", "thread")
        d.rpc_py("log_set_level", "INFO")
        saved = d.rpc_py("save_config").stdout
        conf = json.loads(saved)
        check([s["subsystem"] for s in conf["subsystems"]][0] == "log", "log first: %s" % conf)
        cfg_path = os.path.join(d.tmpdir, "saved.json")
        write(cfg_path, saved)
        with Daemon(config=cfg_path) as d2:
            check(d2.rpc("log_get_flags")["thread"] is True, "flag restored by -c")
            check(d2.rpc("log_get_level") == "INFO", "level restored by -c")
            check(json.loads(d2.rpc_py("save_config").stdout) == conf, "save_config round trip")
        # rpc.py load_config replays the same document into a running daemon.
        with Daemon() as d3:
            subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "..", "scripts", "rpc.py"),
                            "-s", d3.sock, "load_config", "-j", cfg_path], check=True)
            check(d3.rpc("log_get_level") == "INFO", "load_config replays")

    # --state: written at start, rewritten after mutating RPCs only, loaded on restart.
    with Daemon(start=False) as d:
        state = os.path.join(d.tmpdir, "state.json")
        d.state = state
        d.start()
        check(os.path.exists(state), "state file written at start")
        check(oct(os.stat(state).st_mode & 0o777) == "0o600", "state file mode 0600")
        ino = os.stat(state).st_ino
        d.rpc("log_get_flags")
        d.rpc("save_config")
        check(os.stat(state).st_ino == ino, "non-mutating RPCs do not rewrite the state")
        d.rpc_py("log_set_flag", "thread")
        ino2 = os.stat(state).st_ino
        check(ino2 != ino, "state rewritten (atomic rename) after log_set_flag")
        st = json.load(open(state))
        check({"method": "log_set_flag", "params": {"flag": "thread"}} in
              st["subsystems"][0]["config"], "state holds the flag: %s" % st)
        d.rpc_py("log_set_flag", "nope", check=False)
        check(os.stat(state).st_ino == ino2, "failed RPC does not rewrite the state")
        d.rpc_py("log_set_level", "WARNING")
        check(d.stop() == 0, "stop")
        # Restart: the state comes back (and -c is ignored when the state file exists).
        other = os.path.join(d.tmpdir, "other.json")
        write(other, {"subsystems": [{"subsystem": "log", "config": [
            {"method": "log_set_level", "params": {"level": "DEBUG"}}]}]})
        d.config = other
        d.start()
        check(d.rpc("log_get_flags")["thread"] is True, "flag back from --state")
        check(d.rpc("log_get_level") == "WARNING", "level back from --state, -c ignored")
        d.rpc_py("log_clear_flag", "thread")
        st = json.load(open(state))
        check(st["subsystems"][0]["config"] == [
            {"method": "log_set_level", "params": {"level": "WARNING"}}], "cleared: %s" % st)

    # A failing entry stops start-up (exit 1) with a message naming it.
    with Daemon(start=False) as d:
        cases = [
            ({"subsystems": [{"subsystem": "log", "config": [
                {"method": "log_set_level", "params": {"level": "INFO"}},
                {"method": "log_set_flag", "params": {"flag": "no_such_flag"}}]}]},
             "entry 1 (log_set_flag)"),
            ({"subsystems": [{"subsystem": "log", "config": [{"method": "no_such_method"}]}]},
             "no_such_method"),
            ({"subsystems": [{"subsystem": "log", "config": [{"params": {}}]}]}, "method"),
            ('{"subsystems": [', "not a vhostd config"),
            ({"nothing": 1}, "subsystems"),
            ({"subsystems": [{"subsystem": "log", "config": "x"}]}, "not an array"),
            ({"subsystems": [{"subsystem": "log", "config": {"method": "x"}}]}, "not an array"),
            ({"subsystems": [5]}, "subsystems[0]"),
            ({"subsystems": [{"subsystem": "log", "config": [
                {"method": "log_set_level", "params": {"level": "INFO"}},
                {"method": "log_get_level", "params": [1]}]}]}, "entry 1 (log_get_level)"),
            ('{"subsystems": [{"subsystem": "log", "config": [{"method": "log_set_level",'
             ' "params": {"level": "INFO", "level": "DEBUG"}}]}]}', 'duplicate key "level"'),
            ('{"subsystems": [{"subsystem": "log", "config": [{"method": "log_set_level",'
             ' "params": {"level": "INFO", "n": 99999999999999999999999}}]}]}',
             'integer out of range at key "n"'),
            (None, "cannot read"),
        ]
        for i, (doc, fragment) in enumerate(cases):
            path = os.path.join(d.tmpdir, "bad%d.json" % i)
            if doc is not None:
                write(path, doc)
            d.config = path
            p = subprocess.run(d.command(), capture_output=True, text=True, timeout=10)
            check(p.returncode == 1, "bad config %d: exit %d" % (i, p.returncode))
            check(fragment in p.stderr, "bad config %d: %r not in %s" % (i, fragment, p.stderr))
            check(not os.path.exists(d.sock), "socket removed after failed start-up")
        # An empty config is fine: null/absent "config" members too. Subsystems vhostd does
        # not have (SPDK's iobuf, sock, accel...) are skipped with a warning.
        path = os.path.join(d.tmpdir, "empty.json")
        write(path, {"subsystems": [
            {"subsystem": "iobuf", "config": [{"method": "iobuf_set_options",
                                               "params": {"small_pool_count": 8192}}]},
            {"subsystem": "log", "config": None}, {"subsystem": "x"},
            {"subsystem": "log", "config": [{"method": "log_set_level",
                                             "params": {"level": "INFO"}}]}]})
        d.config = path
        d.start()
        check(d.alive(), "empty config")
        check(d.rpc("log_get_level") == "INFO", "entries after a skipped subsystem replayed")
        check("subsystem iobuf is not part of vhostd" in d.log(), "skip warned")


run_test(main)

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Built-in methods through scripts/rpc.py: listing, versions, logging, error reporting."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import Daemon, check, run_test  # noqa: E402

BUILTIN = ["rpc_get_methods", "spdk_get_version", "vhostd_get_version", "framework_get_reactors",
           "thread_get_stats", "framework_wait_init", "framework_start_init", "save_config",
           "log_set_flag", "log_clear_flag", "log_get_flags", "log_set_level", "log_get_level",
           "spdk_kill_instance", "framework_get_subsystems", "framework_get_config"]


def expect_error(d, method, params, code, fragment=""):
    req = {"jsonrpc": "2.0", "method": method, "id": 7}
    if params is not None:
        req["params"] = params
    resp = d.raw(req)
    check(resp.get("id") == 7, "%s: id %s" % (method, resp.get("id")))
    check("error" in resp, "%s %s succeeded, want error %d" % (method, params, code))
    e = resp["error"]
    check(e["code"] == code, "%s %s: code %s, want %d (%s)" % (method, params, e["code"], code,
                                                             e["message"]))
    check(fragment in e["message"], "%s: message %r lacks %r" % (method, e["message"], fragment))
    check(set(e) == {"code", "message"}, "error has only code and message: %s" % e)


def main():
    with Daemon() as d:
        methods = json.loads(d.rpc_py("rpc_get_methods").stdout)
        for m in BUILTIN:
            check(m in methods, "rpc_get_methods lacks %s" % m)
        check("log_set_print_level" not in methods, "aliases listed without -i")
        with_aliases = json.loads(d.rpc_py("rpc_get_methods", "--include-aliases").stdout)
        check("log_set_print_level" in with_aliases and "log_get_print_level" in with_aliases,
              "aliases missing with --include-aliases")
        current = json.loads(d.rpc_py("rpc_get_methods", "--current").stdout)
        check("framework_start_init" not in current, "STARTUP-only method listed as current")
        check("framework_get_reactors" in current, "RUNTIME method missing from --current")

        for m in ("spdk_get_version", "vhostd_get_version"):
            v = json.loads(d.rpc_py(m).stdout)
            check(v["version"] == "vhostd v0.1.0", "%s: %s" % (m, v))
            check(v["fields"] == {"major": 0, "minor": 1, "patch": 0, "suffix": ""}, str(v))

        # Logging: level and flags, alias, and the error for unknown names.
        check(d.rpc_py("log_get_level").stdout.strip() == '"NOTICE"', "default level")
        d.rpc_py("log_set_level", "info")
        check(d.rpc_py("log_get_print_level").stdout.strip() == '"INFO"', "alias get level")
        d.rpc_py("log_set_print_level", "ERROR")
        check(d.rpc("log_get_level") == "ERROR", "alias set level")
        flags = d.rpc("log_get_flags")
        check(isinstance(flags, dict) and "thread" in flags, "log_get_flags: %s" % flags)
        d.rpc_py("log_set_flag", "thread")
        check(d.rpc("log_get_flags")["thread"] is True, "flag set")
        d.rpc_py("log_clear_flag", "thread")
        check(d.rpc("log_get_flags")["thread"] is False, "flag cleared")
        cp = d.rpc_py("log_set_flag", "no_such_flag", check=False)
        check(cp.returncode == 1 and "no_such_flag" in cp.stderr, "bad flag: %s" % cp.stderr)
        expect_error(d, "log_set_level", {"level": "LOUD"}, -32602, "level")

        # Params: missing, unknown, wrong type, and no-params methods given params.
        expect_error(d, "log_set_flag", None, -32602, "flag: missing")
        expect_error(d, "log_set_flag", {"flag": "thread", "x": 1}, -32602, "x: unknown key")
        expect_error(d, "log_set_flag", {"flag": 5}, -32602, "flag: expected string")
        expect_error(d, "rpc_get_methods", {"current": "yes"}, -32602, "current: expected bool")
        expect_error(d, "rpc_get_methods", [True], -32602, "params: expected object")
        expect_error(d, "framework_get_reactors", {}, -32602, "requires no arguments")
        expect_error(d, "spdk_get_version", {"a": 1}, -32602, "requires no arguments")
        expect_error(d, "no_such_method", None, -32601, "Method not found")
        expect_error(d, "framework_start_init", None, -1, "before framework is initialized")
        expect_error(d, "spdk_kill_instance", {"sig_name": "SIGUSR1"}, -32602, "sig_name")

        # rpc.py exits 1 and prints the server's message on an error.
        cp = d.rpc_py("call", "no_such_method", check=False)
        check(cp.returncode == 1 and "Method not found" in cp.stderr, cp.stderr)
        cp = d.rpc_py("call", "log_get_flags", "{}", check=False)
        check(cp.returncode == 1 and "requires no arguments" in cp.stderr, cp.stderr)
        out = d.rpc_py("call", "log_set_flag", '{"flag": "thread"}').stdout
        check(out.strip() == "true", "raw mode prints the result: %r" % out)

        # framework_get_subsystems / framework_get_config
        subs = [s["subsystem"] for s in d.rpc("framework_get_subsystems")]
        check("log" in subs, "subsystems: %s" % subs)
        cfg = d.rpc("framework_get_config", {"name": "log"})
        check({"method": "log_set_flag", "params": {"flag": "thread"}} in cfg, str(cfg))
        expect_error(d, "framework_get_config", {"name": "nope"}, -32602, "nope")

        # thread_get_stats: SPDK's shape.
        st = d.rpc("thread_get_stats")
        check(st["tick_rate"] > 0 and len(st["threads"]) >= 1, str(st))
        t = st["threads"][0]
        for k in ("name", "id", "cpumask", "busy", "idle", "active_pollers_count",
                  "timed_pollers_count", "paused_pollers_count"):
            check(k in t, "thread_get_stats lacks %s" % k)
        check(any(x["name"] == "app_thread" for x in st["threads"]), "no app_thread")

        # --help of a subcommand works without a daemon.
        cp = d.rpc_py("log_set_level", "--help")
        check("level" in cp.stdout, cp.stdout)
        check(d.alive(), "daemon alive at the end")


run_test(main)

# SPDX-License-Identifier: BSD-3-Clause
"""rpc.py subcommands of the framework: introspection, config, logging, shutdown.

Argument shapes follow SPDK's rpc.py (python/spdk/cli/app.py, log.py, subsystem.py).
"""

import json
import sys


def _load_config(client, conf):
    """Replay a save_config document, as SPDK's load_config: STARTUP methods first."""
    subsystems = conf.get("subsystems") or []
    entries = []
    for sub in subsystems:
        for entry in sub.get("config") or []:
            entries.append(entry)
    allowed = set(client.call("rpc_get_methods", {"current": True}))
    pending = []
    for entry in entries:
        if entry["method"] in allowed:
            client.call(entry["method"], entry.get("params"))
        else:
            pending.append(entry)
    if "framework_start_init" in allowed:
        client.call("framework_start_init")
        client.call("framework_wait_init")
        allowed = set(client.call("rpc_get_methods", {"current": True}))
    for entry in pending:
        if entry["method"] not in allowed:
            raise SystemExit("load_config: method %s is not available" % entry["method"])
        client.call(entry["method"], entry.get("params"))


def register(subparsers, client_factory):
    def call(method, params=None):
        return lambda args: client_factory(args).call(method, params(args) if params else None)

    p = subparsers.add_parser("rpc_get_methods", help="list the RPC methods")
    p.add_argument("-c", "--current", action="store_true",
                   help="only methods callable in the current state")
    p.add_argument("-i", "--include-aliases", action="store_true", help="include aliases")
    p.set_defaults(func=call("rpc_get_methods", lambda a: {
        "current": a.current or None, "include_aliases": a.include_aliases or None}))

    for name, what in (("spdk_get_version", "daemon version (SPDK's method name)"),
                       ("vhostd_get_version", "daemon version"),
                       ("framework_get_reactors", "reactors and their lightweight threads"),
                       ("thread_get_stats", "per-thread statistics"),
                       ("framework_wait_init", "block until the framework is initialised"),
                       ("framework_start_init", "initialise (after --wait-for-rpc)"),
                       ("framework_get_subsystems", "list subsystems in init order"),
                       ("log_get_flags", "debug log flags and their state")):
        p = subparsers.add_parser(name, help=what)
        p.set_defaults(func=call(name))

    # SPDK's rpc.py prints these with print_dict: a quoted JSON string.
    for name in ("log_get_level", "log_get_print_level"):
        p = subparsers.add_parser(name, help="current log level")

        def get_level(args, name=name):
            print(json.dumps(client_factory(args).call(name), indent=2))
        p.set_defaults(func=get_level)

    p = subparsers.add_parser("framework_get_config", help="config entries of one subsystem")
    p.add_argument("name", help="subsystem name")
    p.set_defaults(func=call("framework_get_config", lambda a: {"name": a.name}))

    p = subparsers.add_parser("save_config", help="print the running config as JSON")
    p.add_argument("-i", "--indent", type=int, default=2, help="indentation (default 2)")

    def save_config(args):
        print(json.dumps(client_factory(args).call("save_config"), indent=args.indent))
    p.set_defaults(func=save_config)

    p = subparsers.add_parser("load_config", help="replay a save_config document")
    p.add_argument("-j", "--json-conf", help="config file (default: stdin)")

    def load_config(args):
        if args.json_conf:
            with open(args.json_conf) as f:
                conf = json.load(f)
        else:
            conf = json.load(sys.stdin)
        _load_config(client_factory(args), conf)
    p.set_defaults(func=load_config)

    for name, what in (("log_set_flag", "enable a debug log flag ('all' for every flag)"),
                       ("log_clear_flag", "disable a debug log flag")):
        p = subparsers.add_parser(name, help=what)
        p.add_argument("flag", help="log flag")
        p.set_defaults(func=call(name, lambda a: {"flag": a.flag}))

    for name in ("log_set_level", "log_set_print_level"):
        p = subparsers.add_parser(name, help="set the log level")
        p.add_argument("level", help="ERROR, WARNING, NOTICE, INFO or DEBUG")
        p.set_defaults(func=call(name, lambda a: {"level": a.level}))

    p = subparsers.add_parser("spdk_kill_instance", help="send a signal to the daemon")
    p.add_argument("sig_name", help="SIGTERM, SIGINT or SIGKILL")
    p.set_defaults(func=call("spdk_kill_instance", lambda a: {"sig_name": a.sig_name}))

# SPDX-License-Identifier: BSD-3-Clause
"""rpc.py subcommands for vhost controllers (SPDK python/spdk/cli/vhost.py shapes).

    vhost_create_blk_controller [--cpumask M] [--transport T] [-r] [-p] ctrlr dev_name
    vhost_delete_controller [-f] ctrlr           (-f/--force: vhostd extension)
    vhost_get_controllers [-n NAME]
    vhost_controller_set_coalescing ctrlr delay_base_us iops_threshold
"""


def register(subparsers, client_factory):
    def call(method, params):
        return lambda args: client_factory(args).call(method, params(args))

    p = subparsers.add_parser("vhost_create_blk_controller",
                              help="create a vhost-user-blk controller on a bdev")
    p.add_argument("ctrlr", help="controller name (socket file name in the vhost socket dir)")
    p.add_argument("dev_name", help="bdev name")
    p.add_argument("--cpumask", help="cpu mask for this controller (default: the core mask)")
    p.add_argument("--transport", help="vhost_user_blk (the only transport)")
    p.add_argument("-r", "--readonly", action="store_true", help="offer a read-only disk")
    p.add_argument("-p", "--packed_ring", action="store_true", help="offer the packed ring")
    p.set_defaults(func=call("vhost_create_blk_controller", lambda a: {
        "ctrlr": a.ctrlr, "dev_name": a.dev_name, "cpumask": a.cpumask,
        "transport": a.transport, "readonly": a.readonly or None,
        "packed_ring": a.packed_ring or None}))

    p = subparsers.add_parser("vhost_delete_controller", help="delete a vhost controller")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("-f", "--force", action="store_true",
                   help="also when a guest is connected: stop its session and disconnect it "
                   "(without it, a connected controller fails with EBUSY)")
    p.set_defaults(func=call("vhost_delete_controller", lambda a: {
        "ctrlr": a.ctrlr, "force": a.force or None}))

    p = subparsers.add_parser("vhost_get_controllers", help="list vhost controllers")
    p.add_argument("-n", "--name", help="only this controller")
    p.set_defaults(func=call("vhost_get_controllers", lambda a: {"name": a.name}))

    p = subparsers.add_parser("vhost_controller_set_coalescing",
                              help="set interrupt coalescing of a controller")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("delay_base_us", type=int, help="base delay in microseconds (0: off)")
    p.add_argument("iops_threshold", type=int, help="IOPS above which coalescing starts")
    p.set_defaults(func=call("vhost_controller_set_coalescing", lambda a: {
        "ctrlr": a.ctrlr, "delay_base_us": a.delay_base_us,
        "iops_threshold": a.iops_threshold}))

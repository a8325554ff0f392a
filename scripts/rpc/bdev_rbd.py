# SPDX-License-Identifier: BSD-3-Clause
"""rpc.py subcommands of the Ceph RBD bdev. Argument shapes follow SPDK's rpc.py."""


def _kv_list(pairs):
    if not pairs:
        return None
    out = {}
    for kv in pairs:
        if "=" not in kv:
            raise SystemExit("config param must be key=value: %s" % kv)
        k, v = kv.split("=", 1)
        out[k] = v
    return out


def register(subparsers, client_factory):
    def call(method, params):
        return lambda args: client_factory(args).call(method, params(args))

    p = subparsers.add_parser("bdev_rbd_register_cluster",
                              help="connect to a Ceph cluster (shared by rbd bdevs)")
    p.add_argument("name", help="cluster name")
    p.add_argument("--user-id", "--user", dest="user_id", help="Ceph user id (default admin)")
    p.add_argument("--config-param", action="append", metavar="key=value",
                   help="Ceph option, e.g. mon_host=10.0.0.1 (repeatable)")
    p.add_argument("--config-file", help="ceph.conf path")
    p.add_argument("--key-file", help="keyring path")
    p.add_argument("--core-mask", help="accepted, ignored")
    p.set_defaults(func=call("bdev_rbd_register_cluster", lambda a: {
        "name": a.name, "user_id": a.user_id, "config_param": _kv_list(a.config_param),
        "config_file": a.config_file, "key_file": a.key_file, "core_mask": a.core_mask}))

    p = subparsers.add_parser("bdev_rbd_unregister_cluster", help="disconnect a Ceph cluster")
    p.add_argument("name")
    p.set_defaults(func=call("bdev_rbd_unregister_cluster", lambda a: {"name": a.name}))

    p = subparsers.add_parser("bdev_rbd_get_clusters_info", help="registered Ceph clusters")
    p.add_argument("-b", "--name", help="one cluster")
    p.set_defaults(func=call("bdev_rbd_get_clusters_info",
                             lambda a: {"name": a.name} if a.name else None))

    p = subparsers.add_parser("bdev_rbd_create", help="open an rbd image as a bdev")
    p.add_argument("-b", "--name", help="bdev name (default CephN)")
    p.add_argument("--user-id", "--user", dest="user_id")
    p.add_argument("--config", action="append", metavar="key=value",
                   help="Ceph option for a private connection (repeatable)")
    p.add_argument("--cluster-name", help="a cluster from bdev_rbd_register_cluster")
    p.add_argument("-u", "--uuid")
    p.add_argument("pool_name")
    p.add_argument("rbd_name")
    p.add_argument("block_size", type=int)
    p.set_defaults(func=call("bdev_rbd_create", lambda a: {
        "name": a.name, "user_id": a.user_id, "config": _kv_list(a.config),
        "cluster_name": a.cluster_name, "uuid": a.uuid, "pool_name": a.pool_name,
        "rbd_name": a.rbd_name, "block_size": a.block_size}))

    p = subparsers.add_parser("bdev_rbd_delete", help="close an rbd bdev")
    p.add_argument("name")
    p.set_defaults(func=call("bdev_rbd_delete", lambda a: {"name": a.name}))

    p = subparsers.add_parser("bdev_rbd_resize", help="grow an rbd image")
    p.add_argument("name")
    p.add_argument("new_size", type=int, help="new size in MiB")
    p.set_defaults(func=call("bdev_rbd_resize", lambda a: {"name": a.name,
                                                           "new_size": a.new_size}))

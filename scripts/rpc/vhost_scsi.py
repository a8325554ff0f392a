# SPDX-License-Identifier: BSD-3-Clause
"""rpc.py subcommands for vhost-scsi controllers (SPDK python/spdk/cli/vhost.py shapes).

    vhost_create_scsi_controller [--cpumask M] [--delay] ctrlr
    vhost_start_scsi_controller ctrlr
    vhost_scsi_controller_add_target [--lun N] ctrlr scsi_target_num bdev_name
    vhost_scsi_controller_remove_target ctrlr scsi_target_num
    vhost_scsi_controller_add_lun ctrlr scsi_target_num lun bdev_name      (vhostd extension)
    vhost_scsi_controller_remove_lun ctrlr scsi_target_num lun              (vhostd extension)
"""


def register(subparsers, client_factory):
    def call(method, params):
        return lambda args: client_factory(args).call(method, params(args))

    p = subparsers.add_parser("vhost_create_scsi_controller",
                              help="create a vhost-user-scsi controller (a virtio-scsi HBA)")
    p.add_argument("ctrlr", help="controller name (socket file name in the vhost socket dir)")
    p.add_argument("--cpumask", help="cpu mask for this controller (default: the core mask)")
    p.add_argument("--delay", action="store_true",
                   help="do not bind the socket until vhost_start_scsi_controller")
    # SPDK's rpc.py always sends delay.
    p.set_defaults(func=call("vhost_create_scsi_controller", lambda a: {
        "ctrlr": a.ctrlr, "cpumask": a.cpumask, "delay": a.delay}))

    p = subparsers.add_parser("vhost_start_scsi_controller",
                              help="bind the socket of a delayed vhost-scsi controller")
    p.add_argument("ctrlr", help="controller name")
    p.set_defaults(func=call("vhost_start_scsi_controller", lambda a: {"ctrlr": a.ctrlr}))

    p = subparsers.add_parser("vhost_scsi_controller_add_target",
                              help="add a target (LUN 0 on a bdev) to a vhost-scsi controller; "
                              "prints the target number used")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("scsi_target_num", type=int,
                   help="target number 0-255, or -1 for the first free one")
    p.add_argument("bdev_name", help="bdev exposed as the target's LUN")
    p.add_argument("--lun", type=int, help="LUN id for the bdev (default 0; vhostd extension)")
    p.set_defaults(func=call("vhost_scsi_controller_add_target", lambda a: {
        "ctrlr": a.ctrlr, "scsi_target_num": a.scsi_target_num, "bdev_name": a.bdev_name,
        "lun": a.lun}))

    p = subparsers.add_parser("vhost_scsi_controller_remove_target",
                              help="hot-remove a target; returns once every guest dropped it")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("scsi_target_num", type=int, help="target number")
    p.set_defaults(func=call("vhost_scsi_controller_remove_target", lambda a: {
        "ctrlr": a.ctrlr, "scsi_target_num": a.scsi_target_num}))

    p = subparsers.add_parser("vhost_scsi_controller_add_lun",
                              help="add a LUN on a bdev to an existing target")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("scsi_target_num", type=int, help="target number")
    p.add_argument("lun", type=int, help="LUN id 0-63")
    p.add_argument("bdev_name", help="bdev exposed as that LUN")
    p.set_defaults(func=call("vhost_scsi_controller_add_lun", lambda a: {
        "ctrlr": a.ctrlr, "scsi_target_num": a.scsi_target_num, "lun": a.lun,
        "bdev_name": a.bdev_name}))

    p = subparsers.add_parser("vhost_scsi_controller_remove_lun",
                              help="hot-remove one LUN of a target (the last takes the target)")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("scsi_target_num", type=int, help="target number")
    p.add_argument("lun", type=int, help="LUN id")
    p.set_defaults(func=call("vhost_scsi_controller_remove_lun", lambda a: {
        "ctrlr": a.ctrlr, "scsi_target_num": a.scsi_target_num, "lun": a.lun}))

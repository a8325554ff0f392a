# SPDX-License-Identifier: BSD-3-Clause
"""rpc.py subcommands of the bdev layer: malloc, null, aio, uring, error, delay, get_bdevs,
get_iostat, wait_for_examine. Argument shapes follow SPDK's rpc.py (python/spdk/cli/bdev.py)."""


def _size_to_blocks(total_mb, block_size):
    total = int(total_mb * 1024 * 1024)
    if block_size <= 0 or total % block_size != 0:
        raise SystemExit("Total size must be a multiple of the block size")
    return total // block_size


def register(subparsers, client_factory):
    def call(method, params=None):
        return lambda args: client_factory(args).call(method, params(args) if params else None)

    # ---- malloc ----
    p = subparsers.add_parser("bdev_malloc_create", help="create a RAM disk")
    p.add_argument("-b", "--name", help="bdev name (default MallocN)")
    p.add_argument("-u", "--uuid", help="UUID")
    p.add_argument("-p", "--physical-block-size", type=int)
    p.add_argument("-o", "--optimal-io-boundary", type=int)
    p.add_argument("-m", "--md-size", type=int)
    p.add_argument("-i", "--md-interleave", action="store_true")
    p.add_argument("-t", "--dif-type", type=int)
    p.add_argument("-d", "--dif-is-head-of-md", action="store_true")
    p.add_argument("total_size", type=float, help="size in MiB")
    p.add_argument("block_size", type=int, help="block size in bytes")
    p.set_defaults(func=call("bdev_malloc_create", lambda a: {
        "name": a.name, "num_blocks": _size_to_blocks(a.total_size, a.block_size),
        "block_size": a.block_size, "physical_block_size": a.physical_block_size,
        "uuid": a.uuid, "optimal_io_boundary": a.optimal_io_boundary, "md_size": a.md_size,
        "md_interleave": a.md_interleave or None, "dif_type": a.dif_type,
        "dif_is_head_of_md": a.dif_is_head_of_md or None}))

    p = subparsers.add_parser("bdev_malloc_delete", help="delete a malloc bdev")
    p.add_argument("name")
    p.set_defaults(func=call("bdev_malloc_delete", lambda a: {"name": a.name}))

    # ---- null ----
    p = subparsers.add_parser("bdev_null_create", help="create a null bdev")
    p.add_argument("name")
    p.add_argument("total_size", type=float, help="size in MiB")
    p.add_argument("block_size", type=int)
    p.add_argument("-u", "--uuid")
    p.add_argument("-p", "--physical-block-size", type=int)
    p.set_defaults(func=call("bdev_null_create", lambda a: {
        "name": a.name, "num_blocks": _size_to_blocks(a.total_size, a.block_size),
        "block_size": a.block_size, "uuid": a.uuid,
        "physical_block_size": a.physical_block_size}))

    p = subparsers.add_parser("bdev_null_delete", help="delete a null bdev")
    p.add_argument("name")
    p.set_defaults(func=call("bdev_null_delete", lambda a: {"name": a.name}))

    p = subparsers.add_parser("bdev_null_resize", help="resize a null bdev")
    p.add_argument("name")
    p.add_argument("new_size", type=int, help="new size in MiB")
    p.set_defaults(func=call("bdev_null_resize", lambda a: {"name": a.name,
                                                            "new_size": a.new_size}))

    # ---- aio ----
    p = subparsers.add_parser("bdev_aio_create", help="create a libaio bdev on a file/device")
    p.add_argument("filename")
    p.add_argument("name")
    p.add_argument("block_size", type=int, nargs="?")
    p.add_argument("-r", "--readonly", action="store_true")
    p.add_argument("--fallocate", action="store_true")
    p.add_argument("-u", "--uuid")
    p.set_defaults(func=call("bdev_aio_create", lambda a: {
        "filename": a.filename, "name": a.name, "block_size": a.block_size,
        "readonly": a.readonly or None, "fallocate": a.fallocate or None, "uuid": a.uuid}))

    for method, what in (("bdev_aio_delete", "delete an aio bdev"),
                         ("bdev_aio_rescan", "re-read an aio bdev's size"),
                         ("bdev_uring_delete", "delete a uring bdev"),
                         ("bdev_uring_rescan", "re-read a uring bdev's size"),
                         ("bdev_error_delete", "delete an error bdev"),
                         ("bdev_delay_delete", "delete a delay bdev")):
        p = subparsers.add_parser(method, help=what)
        p.add_argument("name")
        p.set_defaults(func=call(method, lambda a: {"name": a.name}))

    # ---- uring ----
    p = subparsers.add_parser("bdev_uring_create", help="create an io_uring bdev")
    p.add_argument("filename")
    p.add_argument("name")
    p.add_argument("block_size", type=int, nargs="?")
    p.add_argument("-u", "--uuid")
    p.set_defaults(func=call("bdev_uring_create", lambda a: {
        "filename": a.filename, "name": a.name, "block_size": a.block_size, "uuid": a.uuid}))

    # ---- error ----
    p = subparsers.add_parser("bdev_error_create", help="create EE_<base> for fault injection")
    p.add_argument("base_name")
    p.add_argument("-u", "--uuid")
    p.set_defaults(func=call("bdev_error_create", lambda a: {"base_name": a.base_name,
                                                             "uuid": a.uuid}))

    p = subparsers.add_parser("bdev_error_inject_error", help="inject errors into an EE_ bdev")
    p.add_argument("name")
    p.add_argument("io_type", help="read, write, unmap, flush, write_zeroes, all or clear")
    p.add_argument("error_type", help="failure, pending, corrupt_data or clear")
    p.add_argument("-n", "--num", type=int, default=1)
    p.add_argument("-q", "--queue-depth", type=int)
    p.add_argument("-o", "--corrupt-offset", type=int)
    p.add_argument("-v", "--corrupt-value", type=int)
    p.set_defaults(func=call("bdev_error_inject_error", lambda a: {
        "name": a.name, "io_type": a.io_type, "error_type": a.error_type, "num": a.num,
        "queue_depth": a.queue_depth, "corrupt_offset": a.corrupt_offset,
        "corrupt_value": a.corrupt_value}))

    # ---- delay ----
    p = subparsers.add_parser("bdev_delay_create", help="add latency on top of a bdev")
    p.add_argument("-b", "--base-bdev-name", required=True)
    p.add_argument("-d", "--name", required=True)
    p.add_argument("-r", "--avg-read-latency", type=int, required=True, help="us")
    p.add_argument("-t", "--nine-nine-read-latency", type=int, required=True, help="us")
    p.add_argument("-w", "--avg-write-latency", type=int, required=True, help="us")
    p.add_argument("-n", "--nine-nine-write-latency", type=int, required=True, help="us")
    p.add_argument("-u", "--uuid")
    p.set_defaults(func=call("bdev_delay_create", lambda a: {
        "base_bdev_name": a.base_bdev_name, "name": a.name,
        "avg_read_latency": a.avg_read_latency, "p99_read_latency": a.nine_nine_read_latency,
        "avg_write_latency": a.avg_write_latency,
        "p99_write_latency": a.nine_nine_write_latency, "uuid": a.uuid}))

    p = subparsers.add_parser("bdev_delay_update_latency", help="change a delay bdev's latency")
    p.add_argument("delay_bdev_name")
    p.add_argument("latency_type", help="avg_read, p99_read, avg_write or p99_write")
    p.add_argument("latency_us", type=int)
    p.set_defaults(func=call("bdev_delay_update_latency", lambda a: {
        "delay_bdev_name": a.delay_bdev_name, "latency_type": a.latency_type,
        "latency_us": a.latency_us}))

    # ---- generic ----
    p = subparsers.add_parser("bdev_get_bdevs", help="list bdevs")
    p.add_argument("-b", "--name", help="name or alias (UUID)")
    p.add_argument("-t", "--timeout", type=int, help="ms to wait for the name to appear")
    p.set_defaults(func=call("bdev_get_bdevs", lambda a: {"name": a.name,
                                                          "timeout": a.timeout}))

    p = subparsers.add_parser("bdev_get_iostat", help="I/O statistics")
    p.add_argument("-b", "--name")
    p.add_argument("-c", "--per-channel", action="store_true")
    p.add_argument("--reset-mode", choices=["all", "maxmin", "none"])
    p.set_defaults(func=call("bdev_get_iostat", lambda a: {
        "name": a.name, "per_channel": a.per_channel or None, "reset_mode": a.reset_mode}))

    p = subparsers.add_parser("bdev_wait_for_examine", help="wait until bdevs are examined")
    p.set_defaults(func=call("bdev_wait_for_examine"))

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bdev_malloc_* / bdev_null_* / bdev_get_bdevs / bdev_get_iostat / bdev_wait_for_examine over
rpc.py and raw JSON-RPC, including every bad input: each a precise error, nothing half-created."""
from bdevtest import Daemon, bdev, check, expect_error, names, run_test


def main():
    with Daemon() as d:
        # rpc.py shapes: SIZE_MB BLOCK_SIZE, -b NAME.
        out = d.rpc_py("bdev_malloc_create", "-b", "Malloc0", "256", "512").stdout.strip()
        check(out == "Malloc0", "malloc create prints the name: %r" % out)
        b = bdev(d, "Malloc0")
        check(b["num_blocks"] == 524288 and b["block_size"] == 512, "geometry %r" % b)
        check(b["product_name"] == "Malloc disk" and b["claimed"] is False, "info %r" % b)
        check(b["aliases"] == [b["uuid"]], "UUID is the alias")
        check(bdev(d, b["uuid"])["name"] == "Malloc0", "lookup by UUID alias")
        st = b["supported_io_types"]
        check(st["read"] and st["write"] and st["unmap"] and st["flush"] and st["write_zeroes"],
              "malloc io types %r" % st)
        for key in ("name", "aliases", "product_name", "block_size", "num_blocks", "uuid",
                    "assigned_rate_limits", "claimed", "zoned", "supported_io_types",
                    "driver_specific"):
            check(key in b, "bdev_get_bdevs has %s" % key)
        # Auto name, explicit uuid.
        uuid = "11111111-2222-3333-4444-555555555555"
        # As SPDK (observed): the auto-name counter starts at 0 and may collide with a
        # user name (-17); the counter still advances.
        expect_error(d, "bdev_malloc_create", {"num_blocks": 64, "block_size": 4096}, -17)
        auto = d.rpc("bdev_malloc_create", {"num_blocks": 64, "block_size": 4096, "uuid": uuid})
        check(auto == "Malloc1", "auto name %r" % auto)
        check(bdev(d, uuid)["name"] == auto, "given uuid used")

        # Bad inputs: -22 sizes, -17 duplicate, -32603 decode (naming the field), -19 unknown.
        before = names(d)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8, "block_size": 520},
                     -22)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8, "block_size": 256},
                     -22)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 0, "block_size": 512},
                     -22)
        expect_error(d, "bdev_malloc_create", {"name": "Malloc0", "num_blocks": 8,
                                               "block_size": 512}, -17)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8, "block_size": 512,
                                               "uuid": uuid}, -17)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8, "block_size": 512,
                                               "uuid": "not-a-uuid"}, -22)
        m = expect_error(d, "bdev_malloc_create", {"name": "x", "block_size": 512}, -32603)
        check("num_blocks" in m, "decode error names the field: %r" % m)
        m = expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": "8",
                                                   "block_size": 512}, -32603)
        check("num_blocks" in m, "wrong type names the field: %r" % m)
        m = expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8,
                                                   "block_size": 512, "bogus": 1}, -32603)
        check("bogus" in m, "unknown key named: %r" % m)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 8, "block_size": 512,
                                               "md_size": 8}, -95)
        expect_error(d, "bdev_malloc_create", {"name": "x", "num_blocks": 1 << 60,
                                               "block_size": 4096}, -22)
        expect_error(d, "bdev_malloc_delete", {"name": "nope"}, -19)
        expect_error(d, "bdev_malloc_delete", {}, -32603)
        check(names(d) == before, "nothing half-created: %r" % names(d))
        r = d.rpc_py("bdev_malloc_create", "-b", "y", "1", "500", check=False)
        check(r.returncode != 0, "rpc.py refuses a size that is not a block multiple")

        # null
        check(d.rpc_py("bdev_null_create", "Null0", "64", "4096").stdout.strip() == "Null0",
              "null create")
        n = bdev(d, "Null0")
        check(n["num_blocks"] == 64 * 256 and n["product_name"] == "Null disk", "null %r" % n)
        check(not n["supported_io_types"]["unmap"] and not n["supported_io_types"]["flush"],
              "null has no unmap/flush")
        expect_error(d, "bdev_null_create", {"num_blocks": 8, "block_size": 512}, -32603)
        expect_error(d, "bdev_null_create", {"name": "Null0", "num_blocks": 8,
                                             "block_size": 512}, -17)
        expect_error(d, "bdev_null_create", {"name": "n", "num_blocks": 8, "block_size": 1000},
                     -22)
        expect_error(d, "bdev_null_create", {"name": "n", "num_blocks": 0, "block_size": 512},
                     -22)
        d.rpc_py("bdev_null_resize", "Null0", "128")
        check(bdev(d, "Null0")["num_blocks"] == 128 * 256, "null resize")
        expect_error(d, "bdev_null_resize", {"name": "nope", "new_size": 4}, -19)
        expect_error(d, "bdev_null_resize", {"name": "Null0", "new_size": 0}, -22)
        expect_error(d, "bdev_null_delete", {"name": "Malloc0"}, -19)

        # get_bdevs: unknown name, timeout waits, array shape.
        expect_error(d, "bdev_get_bdevs", {"name": "nope"}, -19)
        expect_error(d, "bdev_get_bdevs", {"name": "nope", "timeout": 100}, -19)
        check(isinstance(d.rpc("bdev_get_bdevs"), list), "array")
        # iostat shape
        st = d.rpc("bdev_get_iostat", {"name": "Malloc0"})
        check("tick_rate" in st and st["bdevs"][0]["name"] == "Malloc0", "iostat %r" % st)
        for key in ("bytes_read", "num_read_ops", "bytes_written", "num_write_ops",
                    "bytes_unmapped", "num_unmap_ops", "read_latency_ticks",
                    "max_read_latency_ticks", "min_read_latency_ticks", "io_error"):
            check(key in st["bdevs"][0], "iostat has %s" % key)
        check(len(d.rpc("bdev_get_iostat")["bdevs"]) == 3, "iostat of all")
        d.rpc_py("bdev_get_iostat", "-b", "Malloc0", "--reset-mode", "all")
        expect_error(d, "bdev_get_iostat", {"name": "nope"}, -19)
        expect_error(d, "bdev_get_iostat", {"per_channel": True}, -22)
        pc = d.rpc("bdev_get_iostat", {"name": "Malloc0", "per_channel": True})
        check(pc["name"] == "Malloc0" and isinstance(pc["channels"], list), "per_channel %r" % pc)
        expect_error(d, "bdev_get_iostat", {"name": "nope", "per_channel": True}, -19)
        expect_error(d, "bdev_get_iostat", {"reset_mode": "bogus"}, -32603)
        check(d.rpc("bdev_wait_for_examine") is True, "wait_for_examine")
        r = d.raw({"jsonrpc": "2.0", "id": 1, "method": "bdev_wait_for_examine", "params": {}})
        check(r.get("error", {}).get("code") == -32602, "no-params method rejects {}: %r" % r)

        # delete
        d.rpc_py("bdev_malloc_delete", "Malloc0")
        d.rpc_py("bdev_malloc_delete", uuid)  # by UUID alias, as SPDK
        d.rpc_py("bdev_null_delete", "Null0")
        check(names(d) == [], "all deleted: %r" % names(d))
        check(d.alive(), "daemon alive")


run_test(main)

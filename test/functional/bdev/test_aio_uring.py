#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bdev_aio_* and bdev_uring_* on a temp file (and a loop device when losetup works):
create/rescan/delete, driver_specific, and every bad input."""
import os
import subprocess

from bdevtest import Daemon, bdev, check, expect_error, make_file, names, run_test


def loop_attach(path):
    try:
        cp = subprocess.run(["losetup", "-f", "--show", path], capture_output=True, text=True,
                            timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = cp.stdout.strip()
    return out if cp.returncode == 0 and out.startswith("/dev/loop") else None


def main():
    with Daemon() as d:
        img = os.path.join("/var/tmp", "vhd-bdev-ft-%d.img" % os.getpid())
        odd = img + ".odd"
        empty = img + ".empty"
        make_file(img, 16 << 20)
        make_file(odd, (1 << 20) + 100)
        make_file(empty, 0)
        try:
            # aio: SPDK's CLI shape FILE NAME [BLOCK_SIZE]
            check(d.rpc_py("bdev_aio_create", img, "aio0", "512").stdout.strip() == "aio0",
                  "aio create")
            a = bdev(d, "aio0")
            check(a["num_blocks"] == 32768 and a["product_name"] == "AIO disk", "aio %r" % a)
            ds = a["driver_specific"]["aio"]
            check(ds["filename"] == img and ds["block_size_override"] is True, "ds %r" % ds)
            # uring on another copy of the geometry (same file is fine, different bdev)
            check(d.rpc_py("bdev_uring_create", img, "ur0", "4096").stdout.strip() == "ur0",
                  "uring create")
            u = bdev(d, "ur0")
            check(u["block_size"] == 4096 and u["num_blocks"] == 4096, "uring %r" % u)
            check(u["driver_specific"]["uring"]["filename"] == img, "uring ds")
            # default block size of a regular file: 512
            d.rpc("bdev_aio_create", {"filename": img, "name": "aio1"})
            check(bdev(d, "aio1")["block_size"] == 512, "default 512")
            d.rpc_py("bdev_aio_delete", "aio1")

            before = names(d)
            # aio errors: -2 missing, -22 sizes, -17 duplicate, -32603 decode
            expect_error(d, "bdev_aio_create", {"filename": "/nonexistent", "name": "x"}, -2)
            expect_error(d, "bdev_aio_create", {"filename": odd, "name": "x",
                                                "block_size": 512}, -22)
            expect_error(d, "bdev_aio_create", {"filename": empty, "name": "x"}, -22)
            expect_error(d, "bdev_aio_create", {"filename": img, "name": "x",
                                                "block_size": 1000}, -22)
            expect_error(d, "bdev_aio_create", {"filename": img, "name": "x",
                                                "block_size": 256}, -22)
            expect_error(d, "bdev_aio_create", {"filename": img, "name": "aio0"}, -17)
            expect_error(d, "bdev_aio_create", {"filename": img}, -32603)
            expect_error(d, "bdev_aio_delete", {"name": "nope"}, -19)
            expect_error(d, "bdev_aio_rescan", {"name": "nope"}, -19)
            # uring errors: -32603 "Unable to create URING bdev" with the reason
            m = expect_error(d, "bdev_uring_create", {"filename": "/nonexistent", "name": "x"},
                             -32603)
            check("Unable to create URING bdev" in m and "No such file" in m, m)
            m = expect_error(d, "bdev_uring_create", {"filename": odd, "name": "x",
                                                      "block_size": 512}, -32603)
            check("Invalid argument" in m, m)
            expect_error(d, "bdev_uring_create", {"filename": img, "name": "x",
                                                  "block_size": 3000}, -32603)
            expect_error(d, "bdev_uring_create", {"filename": img, "name": "ur0"}, -32603)
            expect_error(d, "bdev_uring_delete", {"name": "aio0"}, -19)
            expect_error(d, "bdev_uring_rescan", {"name": "nope"}, -19)
            check(names(d) == before, "nothing half-created: %r" % names(d))

            # rescan after growing the file: new size
            make_file(img, 32 << 20)
            d.rpc_py("bdev_aio_rescan", "aio0")
            d.rpc_py("bdev_uring_rescan", "ur0")
            check(bdev(d, "aio0")["num_blocks"] == 65536, "aio rescan")
            check(bdev(d, "ur0")["num_blocks"] == 8192, "uring rescan")

            # read-only aio
            d.rpc_py("bdev_aio_create", "-r", img, "ro0", "512")
            ro = bdev(d, "ro0")
            check(ro["supported_io_types"]["write"] is False, "readonly: no write")
            check(ro["driver_specific"]["aio"]["readonly"] is True, "readonly flag")

            for n, m in (("aio0", "bdev_aio_delete"), ("ur0", "bdev_uring_delete"),
                         ("ro0", "bdev_aio_delete")):
                d.rpc_py(m, n)
            check(names(d) == [], "deleted: %r" % names(d))

            loop = loop_attach(img)
            if loop is None:
                print("note: losetup failed: loop-device part skipped")
            else:
                try:
                    d.rpc("bdev_aio_create", {"filename": loop, "name": "la"})
                    d.rpc("bdev_uring_create", {"filename": loop, "name": "lu"})
                    check(bdev(d, "la")["block_size"] == 512, "detected logical block size")
                    check(bdev(d, "la")["num_blocks"] == (32 << 20) // 512, "loop size")
                    expect_error(d, "bdev_aio_create", {"filename": loop, "name": "x",
                                                        "block_size": 500}, -22)
                    d.rpc("bdev_aio_delete", {"name": "la"})
                    d.rpc("bdev_uring_delete", {"name": "lu"})
                finally:
                    subprocess.run(["losetup", "-d", loop])
            check(d.alive(), "daemon alive")
        finally:
            for p in (img, odd, empty):
                if os.path.exists(p):
                    os.unlink(p)


run_test(main)

# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the bdev functional tests (not a test itself: no test_ prefix)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import Daemon, JSONRPCException, check, run_test, skip  # noqa: E402,F401


def expect_error(d, method, params, code, what=None):
    """Call method; check it fails with `code`; return the message."""
    try:
        res = d.rpc(method, params)
    except JSONRPCException as e:
        check(e.code == code, "%s %s: code %s (want %s): %s" % (method, params, e.code, code,
                                                                e.message))
        return e.message
    raise AssertionError("%s %s succeeded (%r), want error %d%s" %
                         (method, params, res, code, (": " + what) if what else ""))


def names(d):
    return sorted(b["name"] for b in d.rpc("bdev_get_bdevs"))


def bdev(d, name):
    r = d.rpc("bdev_get_bdevs", {"name": name})
    check(isinstance(r, list) and len(r) == 1, "bdev_get_bdevs name=%s: %r" % (name, r))
    return r[0]


def make_file(path, size):
    with open(path, "wb") as f:
        f.truncate(size)

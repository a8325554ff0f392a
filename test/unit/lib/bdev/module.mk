# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/bdev/bdev_ut
test/unit/lib/bdev/bdev_ut_SRCS := test/unit/lib/bdev/bdev_ut.c
test/unit/lib/bdev/bdev_ut_LIBS := bdev rpc jsonrpc thread util
test/unit/lib/bdev/bdev_ut_PKGS := cmocka json-c

# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/bdev/rbd/bdev_rbd_ut
test/unit/lib/bdev/rbd/bdev_rbd_ut_SRCS := test/unit/lib/bdev/rbd/bdev_rbd_ut.c
test/unit/lib/bdev/rbd/bdev_rbd_ut_LIBS := bdev rpc jsonrpc thread util
test/unit/lib/bdev/rbd/bdev_rbd_ut_PKGS := cmocka json-c
test/unit/lib/bdev/rbd/bdev_rbd_ut_LDLIBS := -lrbd -lrados

# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/bdev/virtual/bdev_virtual_ut
test/unit/lib/bdev/virtual/bdev_virtual_ut_SRCS := test/unit/lib/bdev/virtual/bdev_virtual_ut.c
test/unit/lib/bdev/virtual/bdev_virtual_ut_LIBS := bdev_error bdev_delay bdev_malloc bdev rpc jsonrpc thread util
test/unit/lib/bdev/virtual/bdev_virtual_ut_PKGS := cmocka json-c

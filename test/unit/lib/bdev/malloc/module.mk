# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/bdev/malloc/bdev_malloc_ut
test/unit/lib/bdev/malloc/bdev_malloc_ut_SRCS := test/unit/lib/bdev/malloc/bdev_malloc_ut.c
test/unit/lib/bdev/malloc/bdev_malloc_ut_LIBS := bdev_malloc bdev_null bdev rpc jsonrpc thread util
test/unit/lib/bdev/malloc/bdev_malloc_ut_PKGS := cmocka json-c

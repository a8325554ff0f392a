# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/bdev/file/bdev_file_ut
test/unit/lib/bdev/file/bdev_file_ut_SRCS := test/unit/lib/bdev/file/bdev_file_ut.c
test/unit/lib/bdev/file/bdev_file_ut_LIBS := bdev_aio bdev_uring bdev rpc jsonrpc thread util
test/unit/lib/bdev/file/bdev_file_ut_PKGS := cmocka json-c

# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/rpc/rpc_ut
test/unit/lib/rpc/rpc_ut_SRCS := test/unit/lib/rpc/rpc_ut.c
test/unit/lib/rpc/rpc_ut_LIBS := rpc jsonrpc thread util
test/unit/lib/rpc/rpc_ut_PKGS := cmocka json-c
test/unit/lib/rpc/rpc_ut_CFLAGS := -Itest/unit

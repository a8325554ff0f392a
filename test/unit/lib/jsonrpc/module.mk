# SPDX-License-Identifier: BSD-3-Clause
# The test #includes lib/jsonrpc/*.c and stubs lib/thread's fd handlers with poll(2),
# so it drives real sockets deterministically.
UNIT_TESTS += test/unit/lib/jsonrpc/jsonrpc_server_ut
test/unit/lib/jsonrpc/jsonrpc_server_ut_SRCS := test/unit/lib/jsonrpc/jsonrpc_server_ut.c
test/unit/lib/jsonrpc/jsonrpc_server_ut_LIBS := util
test/unit/lib/jsonrpc/jsonrpc_server_ut_PKGS := cmocka json-c

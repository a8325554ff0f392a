# SPDX-License-Identifier: BSD-3-Clause
LIBS += jsonrpc
jsonrpc_SRCS := $(wildcard lib/jsonrpc/*.c)
jsonrpc_PKGS := json-c
jsonrpc_LDLIBS :=

# SPDX-License-Identifier: BSD-3-Clause
LIBS += rpc
rpc_SRCS := $(wildcard lib/rpc/*.c)
rpc_PKGS := json-c
rpc_LDLIBS :=

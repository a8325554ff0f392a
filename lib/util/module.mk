# SPDX-License-Identifier: BSD-3-Clause
LIBS += util
util_SRCS := $(wildcard lib/util/*.c)
util_PKGS :=
util_LDLIBS :=

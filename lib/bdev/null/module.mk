# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_null
bdev_null_SRCS := $(wildcard lib/bdev/null/*.c)
bdev_null_PKGS := json-c
bdev_null_LDLIBS :=

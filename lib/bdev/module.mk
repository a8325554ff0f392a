# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev
bdev_SRCS := $(wildcard lib/bdev/*.c)
bdev_PKGS := json-c
bdev_LDLIBS :=

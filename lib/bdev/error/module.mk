# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_error
bdev_error_SRCS := $(wildcard lib/bdev/error/*.c)
bdev_error_PKGS := json-c
bdev_error_LDLIBS :=

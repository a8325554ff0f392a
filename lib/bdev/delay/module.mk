# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_delay
bdev_delay_SRCS := $(wildcard lib/bdev/delay/*.c)
bdev_delay_PKGS := json-c
bdev_delay_LDLIBS :=

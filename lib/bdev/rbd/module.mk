# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_rbd
bdev_rbd_SRCS := $(wildcard lib/bdev/rbd/*.c)
bdev_rbd_PKGS := json-c
bdev_rbd_LDLIBS := -lrbd -lrados

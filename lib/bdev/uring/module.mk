# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_uring
bdev_uring_SRCS := $(wildcard lib/bdev/uring/*.c)
bdev_uring_PKGS := json-c liburing
bdev_uring_LDLIBS :=

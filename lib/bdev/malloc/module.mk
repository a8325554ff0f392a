# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_malloc
bdev_malloc_SRCS := $(wildcard lib/bdev/malloc/*.c)
bdev_malloc_PKGS := json-c
bdev_malloc_LDLIBS :=

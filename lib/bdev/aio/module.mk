# SPDX-License-Identifier: BSD-3-Clause
LIBS += bdev_aio
bdev_aio_SRCS := $(wildcard lib/bdev/aio/*.c)
bdev_aio_PKGS := json-c
bdev_aio_LDLIBS := -laio

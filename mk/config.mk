# SPDX-License-Identifier: BSD-3-Clause
# Build switches: V=1 (verbose), DEBUG=1 (-O0, asserts), SANITIZE=address,undefined,
# PREFIX=/usr/local, DESTDIR=, CC=.

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
BUILD ?= build
# Parallel jobs for the builds that `make check` and `make run` start.
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
DESTDIR ?=

ifeq ($(V),1)
Q :=
else
Q := @
endif

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
	-Wstrict-prototypes -fno-strict-aliasing -D_GNU_SOURCE -pthread -g -Iinclude \
	-fno-common -MMD -MP
ifeq ($(DEBUG),1)
CFLAGS_BASE += -O0 -DDEBUG
else
CFLAGS_BASE += -O2 -DNDEBUG -D_FORTIFY_SOURCE=2
endif
ifneq ($(SANITIZE),)
CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS_BASE += -fsanitize=$(SANITIZE)
endif
LDFLAGS_BASE += -pthread

VHD_VERSION := 0.1.0
CFLAGS_BASE += -DVHD_VERSION_STRING='"$(VHD_VERSION)"'

# rte_vhost: Debian's DPDK 22.11. Only lib/vhost sees these flags; it links DPDK statically (lib/vhost/module.mk).
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null) -DALLOW_EXPERIMENTAL_API -Wno-missing-prototypes

# SPDX-License-Identifier: BSD-3-Clause
LIBS += virtio
virtio_SRCS := $(wildcard lib/virtio/*.c)
virtio_PKGS :=
virtio_LDLIBS :=

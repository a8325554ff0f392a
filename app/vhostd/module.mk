# SPDX-License-Identifier: BSD-3-Clause
# The daemon links every library except the vhost-user *initiator* (lib/virtio):
# recursive `=` so that libraries registered by module.mk files included after
# this one (lib/ sorts after app/) are picked up. Whole-archive linking makes
# the order irrelevant; each library brings its own *_PKGS / *_LDLIBS.
APPS += app/vhostd/vhostd
app/vhostd/vhostd_SRCS := $(wildcard app/vhostd/*.c)
app/vhostd/vhostd_LIBS = $(filter-out virtio,$(LIBS))
app/vhostd/vhostd_PKGS := libsystemd json-c
app/vhostd/vhostd_LDLIBS :=

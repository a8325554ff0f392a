# SPDX-License-Identifier: BSD-3-Clause
APPS += app/vhost-perf/vhost-perf
app/vhost-perf/vhost-perf_SRCS := app/vhost-perf/vhost-perf.c
app/vhost-perf/vhost-perf_LIBS := virtio util

# Conformance and hostile-guest checks of a vhost-user-blk backend (see doc/virtio-initiator.md).
APPS += app/vhost-perf/virtio-check
app/vhost-perf/virtio-check_SRCS := app/vhost-perf/virtio-check.c
app/vhost-perf/virtio-check_LIBS := virtio util

# SPDX-License-Identifier: BSD-3-Clause
APPS += app/vhost-perf/vhost-perf
app/vhost-perf/vhost-perf_SRCS := app/vhost-perf/vhost-perf.c
app/vhost-perf/vhost-perf_LIBS := virtio util

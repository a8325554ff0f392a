# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/virtio/vq_ut
test/unit/lib/virtio/vq_ut_SRCS := test/unit/lib/virtio/vq_ut.c
test/unit/lib/virtio/vq_ut_LIBS := virtio util
test/unit/lib/virtio/vq_ut_PKGS := cmocka
test/unit/lib/virtio/vq_ut_CFLAGS := -Ilib/virtio

UNIT_TESTS += test/unit/lib/virtio/vhost_user_ut
test/unit/lib/virtio/vhost_user_ut_SRCS := test/unit/lib/virtio/vhost_user_ut.c
test/unit/lib/virtio/vhost_user_ut_LIBS := virtio util
test/unit/lib/virtio/vhost_user_ut_PKGS := cmocka
test/unit/lib/virtio/vhost_user_ut_CFLAGS := -Ilib/virtio

# vhost-perf's histogram and verify tags (includes app/vhost-perf/vhost-perf.c)
UNIT_TESTS += test/unit/lib/virtio/vhost_perf_ut
test/unit/lib/virtio/vhost_perf_ut_SRCS := test/unit/lib/virtio/vhost_perf_ut.c
test/unit/lib/virtio/vhost_perf_ut_LIBS := virtio util
test/unit/lib/virtio/vhost_perf_ut_PKGS := cmocka
test/unit/lib/virtio/vhost_perf_ut_CFLAGS := -Ilib/virtio -Wno-missing-prototypes

# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/vhost/virtqueue_ut
test/unit/lib/vhost/virtqueue_ut_SRCS := test/unit/lib/vhost/virtqueue_ut.c
test/unit/lib/vhost/virtqueue_ut_LIBS := util
test/unit/lib/vhost/virtqueue_ut_PKGS := cmocka

UNIT_TESTS += test/unit/lib/vhost/vhost_blk_ut
test/unit/lib/vhost/vhost_blk_ut_SRCS := test/unit/lib/vhost/vhost_blk_ut.c
test/unit/lib/vhost/vhost_blk_ut_LIBS := util
test/unit/lib/vhost/vhost_blk_ut_PKGS := cmocka json-c

# SPDX-License-Identifier: BSD-3-Clause
# vhost-scsi wire formats (lib/vhost/vhost_scsi_proto.c, compiled in by the test); the real
# lib/scsi LUN decoder, linked over lib/scsi's fake bdev.
UNIT_TESTS += test/unit/lib/vhost_scsi/vhost_scsi_ut
test/unit/lib/vhost_scsi/vhost_scsi_ut_SRCS := test/unit/lib/vhost_scsi/vhost_scsi_ut.c \
	test/unit/lib/scsi/fake_bdev.c
test/unit/lib/vhost_scsi/vhost_scsi_ut_LIBS := scsi thread util
test/unit/lib/vhost_scsi/vhost_scsi_ut_PKGS := cmocka
test/unit/lib/vhost_scsi/vhost_scsi_ut_CFLAGS := -Itest/unit -Ilib/scsi -Itest/unit/lib/scsi

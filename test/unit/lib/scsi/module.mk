# SPDX-License-Identifier: BSD-3-Clause
SCSI_UT_NAMES := scsi_bdev_ut scsi_pr_ut scsi_dev_ut scsi_task_ut
define scsi_ut_template
ifneq ($$(wildcard test/unit/lib/scsi/$(1).c),)
UNIT_TESTS += test/unit/lib/scsi/$(1)
test/unit/lib/scsi/$(1)_SRCS := test/unit/lib/scsi/$(1).c test/unit/lib/scsi/fake_bdev.c
test/unit/lib/scsi/$(1)_LIBS := scsi thread util
test/unit/lib/scsi/$(1)_PKGS := cmocka
test/unit/lib/scsi/$(1)_CFLAGS := -Itest/unit -Ilib/scsi -Itest/unit/lib/scsi
endif
endef
$(foreach t,$(SCSI_UT_NAMES),$(eval $(call scsi_ut_template,$(t))))

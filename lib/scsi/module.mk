# SPDX-License-Identifier: BSD-3-Clause
LIBS += scsi
scsi_SRCS := $(wildcard lib/scsi/*.c)
scsi_PKGS :=
scsi_LDLIBS :=

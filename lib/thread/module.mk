# SPDX-License-Identifier: BSD-3-Clause
LIBS += thread
thread_SRCS := $(wildcard lib/thread/*.c)
thread_PKGS :=
thread_LDLIBS :=

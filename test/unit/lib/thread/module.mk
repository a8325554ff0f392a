# SPDX-License-Identifier: BSD-3-Clause
UNIT_TESTS += test/unit/lib/thread/thread_ut
test/unit/lib/thread/thread_ut_SRCS := test/unit/lib/thread/thread_ut.c
test/unit/lib/thread/thread_ut_LIBS := thread util
test/unit/lib/thread/thread_ut_PKGS := cmocka
test/unit/lib/thread/thread_ut_CFLAGS := -Itest/unit -Ilib/thread
# Real reactors on cpus 0 and 1 (skipped with fewer cpus).
UNIT_TESTS += test/unit/lib/thread/reactor_ut
test/unit/lib/thread/reactor_ut_SRCS := test/unit/lib/thread/reactor_ut.c
test/unit/lib/thread/reactor_ut_LIBS := thread util
test/unit/lib/thread/reactor_ut_PKGS := cmocka
test/unit/lib/thread/reactor_ut_CFLAGS := -Itest/unit -Ilib/thread

# SPDX-License-Identifier: BSD-3-Clause
# log_ut includes lib/util/log.c and util.c itself (to reach statics): no libs.
UNIT_TESTS += test/unit/lib/util/log_ut test/unit/lib/util/util_ut test/unit/lib/util/cpuset_ut
test/unit/lib/util/log_ut_SRCS := test/unit/lib/util/log_ut.c
test/unit/lib/util/log_ut_LIBS :=
test/unit/lib/util/log_ut_PKGS := cmocka
test/unit/lib/util/util_ut_SRCS := test/unit/lib/util/util_ut.c
test/unit/lib/util/util_ut_LIBS := util
test/unit/lib/util/util_ut_PKGS := cmocka
test/unit/lib/util/cpuset_ut_SRCS := test/unit/lib/util/cpuset_ut.c
test/unit/lib/util/cpuset_ut_LIBS := util
test/unit/lib/util/cpuset_ut_PKGS := cmocka

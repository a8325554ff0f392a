# SPDX-License-Identifier: BSD-3-Clause
# vhostd: one make graph. Every directory contributes a module.mk that appends
# to the lists below; mk/rules.mk turns them into objects, archives and binaries.

.DEFAULT_GOAL := all

include mk/config.mk

# Each module.mk registers, with the macros of mk/rules.mk:
#   LIBS       += name      name_SRCS, name_PKGS (pkg-config), name_LDLIBS, name_CFLAGS
#   APPS       += path      path_SRCS, path_LIBS (our libs, whole-archive), path_PKGS, path_LDLIBS
#   UNIT_TESTS += path      like APPS; built by `make unit`, run by `make check`
#   FUZZ_TARGETS += path    like APPS, built with clang -fsanitize=fuzzer by `make fuzz`
#   BENCH_BINS += path      like APPS; built by `make bench-bins`
LIBS :=
APPS :=
UNIT_TESTS :=
FUZZ_TARGETS :=
BENCH_BINS :=

include $(sort $(wildcard lib/*/module.mk lib/bdev/*/module.mk app/*/module.mk))
include $(sort $(wildcard test/unit/lib/*/module.mk test/unit/lib/bdev/*/module.mk))
include $(sort $(wildcard test/fuzz/module.mk bench/module.mk test/functional/*/module.mk))

include mk/rules.mk

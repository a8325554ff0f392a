# SPDX-License-Identifier: BSD-3-Clause
# Benchmarks: each bench/<area>/module.mk registers its programs.
include $(sort $(wildcard bench/*/module.mk))

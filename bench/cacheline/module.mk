# SPDX-License-Identifier: BSD-3-Clause
# Built by `make all` (BENCH_BINS), never installed. Run: build/bench/cacheline/pingpong [-a CPU] [-b CPU]
BENCH_BINS += bench/cacheline/pingpong
bench/cacheline/pingpong_SRCS := bench/cacheline/pingpong.c

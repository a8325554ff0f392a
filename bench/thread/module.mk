# SPDX-License-Identifier: BSD-3-Clause
# Built by `make all` (BENCH_BINS), never installed. Run: build/bench/thread/thread_bench [-n MSGS] [-t SECS]
BENCH_BINS += bench/thread/thread_bench
bench/thread/thread_bench_SRCS := bench/thread/thread_bench.c
bench/thread/thread_bench_LIBS := thread util
bench/thread/thread_bench_CFLAGS := -Ilib/thread

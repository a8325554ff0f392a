# SPDX-License-Identifier: BSD-3-Clause
# Built like an app (make build/bench/thread/thread_bench): mk/rules.mk links
# only APPS and UNIT_TESTS. Run: build/bench/thread/thread_bench [-n MSGS] [-t SECS]
APPS += bench/thread/thread_bench
bench/thread/thread_bench_SRCS := bench/thread/thread_bench.c
bench/thread/thread_bench_LIBS := thread util
bench/thread/thread_bench_CFLAGS := -Ilib/thread

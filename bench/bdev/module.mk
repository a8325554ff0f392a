# SPDX-License-Identifier: BSD-3-Clause
# In-process bdev benchmark, built by `make all` (BENCH_BINS), never installed;
# bench/bdev.sh runs it against fio. Usage in bench/bdev/bdev_bench.c.
BENCH_BINS += bench/bdev/bdev_bench
bench/bdev/bdev_bench_SRCS := bench/bdev/bdev_bench.c
bench/bdev/bdev_bench_LIBS := bdev_null bdev_malloc bdev_aio bdev_uring bdev rpc jsonrpc thread util
bench/bdev/bdev_bench_PKGS := json-c

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the virtqueue fuzzer: build/fuzz/vq_ring_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/vq_ring_fuzz -max_total_time=600 build/fuzz/corpus-vq_ring_fuzz test/fuzz/vq/corpus
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Iinclude -Ilib/vhost \
	lib/util/*.c test/fuzz/common/fuzz_log.c test/fuzz/vq/vq_ring_fuzz.c -Wl,--wrap=log_write -o "$out/vq_ring_fuzz" -pthread -lm

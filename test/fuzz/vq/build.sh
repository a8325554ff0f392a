#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the virtqueue fuzzer: build/fuzz/vq_ring_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/vq_ring_fuzz -max_total_time=600 build/fuzz/corpus-vq_ring_fuzz test/fuzz/vq/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build vq_ring_fuzz -Ilib/vhost lib/util/*.c test/fuzz/common/fuzz_log.c \
	test/fuzz/vq/vq_ring_fuzz.c -Wl,--wrap=log_write

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the vhost-blk request fuzzer: build/fuzz/blk_req_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/blk_req_fuzz -max_total_time=600 build/fuzz/corpus-blk_req_fuzz test/fuzz/blk/corpus
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Iinclude -Ilib/vhost \
	lib/util/*.c test/fuzz/common/fuzz_log.c test/fuzz/blk/blk_req_fuzz.c \
	-Wl,--wrap=log_write -o "$out/blk_req_fuzz" $(pkg-config --cflags --libs json-c) -pthread -lm

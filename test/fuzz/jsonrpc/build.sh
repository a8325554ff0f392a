#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the lib/jsonrpc stream fuzzer: build/fuzz/jsonrpc_stream_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/jsonrpc_stream_fuzz -max_total_time=600 build/fuzz/corpus-jsonrpc_stream_fuzz test/fuzz/jsonrpc/corpus
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Iinclude \
	lib/util/*.c test/fuzz/jsonrpc/jsonrpc_stream_fuzz.c -o "$out/jsonrpc_stream_fuzz" \
	$(pkg-config --cflags --libs json-c) -pthread -lm

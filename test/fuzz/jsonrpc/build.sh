#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the lib/jsonrpc stream fuzzer: build/fuzz/jsonrpc_stream_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/jsonrpc_stream_fuzz -max_total_time=600 build/fuzz/corpus-jsonrpc_stream_fuzz test/fuzz/jsonrpc/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build jsonrpc_stream_fuzz lib/util/*.c test/fuzz/jsonrpc/jsonrpc_stream_fuzz.c \
	$(pkg-config --cflags --libs json-c)

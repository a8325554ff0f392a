#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the RPC params / config replay fuzzer: build/fuzz/rpc_params_fuzz (clang, libFuzzer,
# ASan, UBSan). lib/rpc + lib/jsonrpc + lib/bdev (malloc, null, delay, error) + lib/scsi.
# Run:  build/fuzz/rpc_params_fuzz -max_total_time=600 build/fuzz/corpus-rpc_params_fuzz test/fuzz/rpc/corpus
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Iinclude -Ilib/rpc -DVHD_VERSION_STRING='"fuzz"' \
	lib/util/*.c lib/thread/*.c lib/jsonrpc/*.c lib/rpc/*.c lib/bdev/*.c lib/scsi/*.c \
	lib/bdev/malloc/*.c lib/bdev/null/*.c lib/bdev/delay/*.c lib/bdev/error/*.c \
	test/fuzz/common/fuzz_log.c test/fuzz/rpc/rpc_params_fuzz.c -Wl,--wrap=log_write \
	-o "$out/rpc_params_fuzz" $(pkg-config --cflags --libs json-c) -pthread -lm

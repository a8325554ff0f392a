#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the RPC params / config replay fuzzer: build/fuzz/rpc_params_fuzz (clang, libFuzzer,
# ASan, UBSan). lib/rpc + lib/jsonrpc + lib/bdev (malloc, null, delay, error) + lib/scsi.
# Run:  build/fuzz/rpc_params_fuzz -max_total_time=600 build/fuzz/corpus-rpc_params_fuzz test/fuzz/rpc/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build rpc_params_fuzz -Ilib/rpc -DVHD_VERSION_STRING='"fuzz"' lib/util/*.c \
	lib/thread/*.c lib/jsonrpc/*.c lib/rpc/*.c lib/bdev/*.c lib/scsi/*.c \
	lib/bdev/malloc/*.c lib/bdev/null/*.c lib/bdev/delay/*.c lib/bdev/error/*.c \
	test/fuzz/common/fuzz_log.c test/fuzz/rpc/rpc_params_fuzz.c -Wl,--wrap=log_write \
	$(pkg-config --cflags --libs json-c)

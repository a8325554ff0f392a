#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the config file loading fuzzer: build/fuzz/config_load_fuzz (clang, libFuzzer, ASan,
# UBSan). app/vhostd/vhostd.c (compiled into the harness) + lib/rpc, jsonrpc, bdev (malloc,
# null, delay, error), scsi.
# Run:  build/fuzz/config_load_fuzz -max_total_time=600 build/fuzz/corpus-config_load_fuzz test/fuzz/config/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build config_load_fuzz -Wno-unused-function -Ilib/rpc -Iapp/vhostd \
	-DVHD_VERSION_STRING='"fuzz"' lib/util/*.c lib/thread/*.c lib/jsonrpc/*.c \
	lib/rpc/*.c lib/bdev/*.c lib/scsi/*.c lib/bdev/malloc/*.c lib/bdev/null/*.c \
	lib/bdev/delay/*.c lib/bdev/error/*.c test/fuzz/common/fuzz_log.c \
	test/fuzz/config/config_load_fuzz.c -Wl,--wrap=log_write \
	-Wl,--wrap=rpc_call_internal $(pkg-config --cflags --libs json-c)

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the vhost-blk request fuzzer: build/fuzz/blk_req_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/blk_req_fuzz -max_total_time=600 build/fuzz/corpus-blk_req_fuzz test/fuzz/blk/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build blk_req_fuzz -Ilib/vhost lib/util/*.c test/fuzz/common/fuzz_log.c \
	test/fuzz/blk/blk_req_fuzz.c -Wl,--wrap=log_write $(pkg-config --cflags --libs json-c)

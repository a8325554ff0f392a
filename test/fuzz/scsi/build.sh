#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the lib/scsi CDB fuzzer: build/fuzz/scsi_cdb_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/scsi_cdb_fuzz -max_total_time=600 build/fuzz/corpus-scsi_cdb_fuzz test/fuzz/scsi/corpus
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Iinclude -Ilib/scsi -Ilib/thread -Ilib/util -Itest/unit/lib/scsi \
	lib/scsi/*.c lib/util/*.c lib/thread/*.c test/unit/lib/scsi/fake_bdev.c \
	test/fuzz/scsi/scsi_cdb_fuzz.c -o "$out/scsi_cdb_fuzz" -pthread -lm

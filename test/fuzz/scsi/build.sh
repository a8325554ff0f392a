#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the lib/scsi CDB fuzzer: build/fuzz/scsi_cdb_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/scsi_cdb_fuzz -max_total_time=600 build/fuzz/corpus-scsi_cdb_fuzz test/fuzz/scsi/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build scsi_cdb_fuzz -Ilib/scsi -Ilib/thread -Ilib/util -Itest/unit/lib/scsi \
	lib/scsi/*.c lib/util/*.c lib/thread/*.c test/unit/lib/scsi/fake_bdev.c \
	test/fuzz/scsi/scsi_cdb_fuzz.c

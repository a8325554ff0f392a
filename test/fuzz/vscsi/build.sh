#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the virtio-scsi request fuzzer (lib/scsi linked for the LUN decoder): build/fuzz/vscsi_req_fuzz (clang, libFuzzer, ASan, UBSan).
# Run:  build/fuzz/vscsi_req_fuzz -max_total_time=600 build/fuzz/corpus-vscsi_req_fuzz test/fuzz/vscsi/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build vscsi_req_fuzz -Ilib/vhost -Ilib/scsi -Itest/unit/lib/scsi lib/util/*.c \
	lib/thread/*.c lib/scsi/*.c test/unit/lib/scsi/fake_bdev.c \
	test/fuzz/common/fuzz_log.c test/fuzz/vscsi/vscsi_req_fuzz.c -Wl,--wrap=log_write

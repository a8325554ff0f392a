#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the vhost-user message hook fuzzer: build/fuzz/vhost_msg_fuzz (clang, libFuzzer, ASan,
# UBSan). lib/vhost/vhost.c is compiled into the harness (its hooks are static) with DPDK's
# headers only: the rte_vhost functions it calls are the harness's fakes, DPDK is not linked.
# Run:  build/fuzz/vhost_msg_fuzz -max_total_time=600 build/fuzz/corpus-vhost_msg_fuzz test/fuzz/vhost/corpus
. "$(dirname "$0")/../common/build.sh"
fuzz_build vhost_msg_fuzz -Wno-unused-function -Ilib/vhost $(pkg-config --cflags libdpdk) \
	-DALLOW_EXPERIMENTAL_API lib/util/*.c lib/thread/*.c lib/vhost/virtqueue.c \
	test/fuzz/common/fuzz_log.c test/fuzz/vhost/vhost_msg_fuzz.c -Wl,--wrap=log_write \
	$(pkg-config --cflags --libs json-c)

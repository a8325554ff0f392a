/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-perf's own logic: the log-linear latency histogram (bucket math,
 * relative error, percentiles) and the --verify block tags (every kind of
 * corruption is detected, a clean block passes). The program is included
 * whole with its main() renamed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define main vhost_perf_main
#include "../../../../app/vhost-perf/vhost-perf.c"
#undef main

static void
test_hist_buckets_monotonic_and_tight(void **state)
{
	uint64_t v, prev_idx = 0;
	uint32_t i;

	for (v = 0; v < 64; v++) {
		assert_int_equal(hist_index(v), v);
		assert_int_equal(hist_value((uint32_t)v), v);
	}
	for (v = 1; v < (1ull << 40); v = v * 17 / 16 + 1) {
		uint32_t idx = hist_index(v);
		uint64_t mid = hist_value(idx);
		double err = (double)(mid > v ? mid - v : v - mid) / (double)v;

		assert_true(idx < HIST_BUCKETS);
		assert_true(idx >= prev_idx);
		assert_true(err <= 1.0 / 32);
		prev_idx = idx;
	}
	assert_true(hist_index(UINT64_MAX) < HIST_BUCKETS);
	for (i = 1; i < HIST_BUCKETS; i++) {
		assert_true(hist_value(i) > hist_value(i - 1));
	}
}

static void
test_hist_percentiles(void **state)
{
	static struct hist h;
	uint64_t v, n = 0;

	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_percentile(&h, 0, 50), 0);
	/* 1000 samples: 1..1000 us */
	for (v = 1; v <= 1000; v++) {
		h.b[hist_index(v * 1000)]++;
		n++;
	}
	assert_true(llabs((long long)hist_percentile(&h, n, 50) - 500000) <= 500000 / 32);
	assert_true(llabs((long long)hist_percentile(&h, n, 99) - 990000) <= 990000 / 32);
	assert_true(llabs((long long)hist_percentile(&h, n, 99.9) - 999000) <= 999000 / 32);
	assert_true(hist_percentile(&h, n, 100) >= hist_percentile(&h, n, 99.9));
	/* a single outlier shows at p99.9 of 1000 but not at p99 */
	memset(&h, 0, sizeof(h));
	h.b[hist_index(1000)] = 999;
	h.b[hist_index(5000000)] = 1;
	assert_true(hist_percentile(&h, 1000, 99) < 2000);
	assert_true(hist_percentile(&h, 1000, 99.95) > 4000000);
}

static void
test_tags_detect_corruption(void **state)
{
	uint8_t buf[4096];

	g_blk_size = 4096;
	g_o.seed = 7;
	atomic_store(&g_mismatch_logged, PERF_MAX_MISMATCH_LOG);	/* keep stderr quiet */
	tag_fill(buf, 123, 5);
	assert_int_equal(tag_check(buf, 123, 5), 0);
	assert_int_equal(tag_check(buf, 124, 5), -1);	/* wrong place (misdirected write) */
	assert_int_equal(tag_check(buf, 123, 4), -1);	/* stale generation (lost write) */
	g_o.seed = 8;
	assert_int_equal(tag_check(buf, 123, 5), -1);	/* another run's data */
	g_o.seed = 7;
	buf[4000] ^= 1;					/* one bit in the payload */
	assert_int_equal(tag_check(buf, 123, 5), -1);
	buf[4000] ^= 1;
	assert_int_equal(tag_check(buf, 123, 5), 0);
	memset(buf, 0, sizeof(buf));			/* zeroes (null backend, hole) */
	assert_int_equal(tag_check(buf, 123, 5), -1);
	/* blocks of the same I/O differ from each other */
	g_blk_size = 2048;
	tag_fill(buf, 1, 1);
	tag_fill(buf + 2048, 2, 1);
	assert_int_equal(tag_check(buf, 1, 1), 0);
	assert_int_equal(tag_check(buf + 2048, 2, 1), 0);
	assert_int_equal(tag_check(buf + 2048, 1, 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets_monotonic_and_tight),
		cmocka_unit_test(test_hist_percentiles),
		cmocka_unit_test(test_tags_detect_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

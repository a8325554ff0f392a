/* SPDX-License-Identifier: BSD-3-Clause */
/* error and delay virtual bdevs on top of a malloc base. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../common/ut_thread.h"
#include "../common/bdev_ut_common.h"
#include "../../../../../lib/bdev/malloc/bdev_malloc.h"
#include "../../../../../lib/bdev/error/bdev_error.h"
#include "../../../../../lib/bdev/delay/bdev_delay.h"

struct del {
	int	called;
	int	rc;
};

static void
del_done(void *arg, int rc)
{
	struct del *d = arg;

	d->called++;
	d->rc = rc;
}

static int
setup(void **state)
{
	struct malloc_bdev_opts o = {.name = "m0", .num_blocks = 512, .block_size = 512};

	ut_threads_init(UTB_MAX_THREADS + 1);
	assert_int_equal(bdev_malloc_create(&o, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	struct del d = {};

	if (bdev_get_by_name("m0") != NULL) {
		assert_int_equal(bdev_malloc_delete("m0", del_done, &d), 0);
		ut_poll_threads();
	}
	ut_threads_fini();
	return 0;
}

/* Poll with the fake clock moving, until *counter >= target (real time bounded). */
static void
wait_timed(int *counter, int target)
{
	uint64_t deadline = utb_now_ms() + 10000;

	while (*counter < target) {
		ut_advance_time_us(50);
		ut_poll_threads();
		assert_true(utb_now_ms() < deadline);
		usleep(20);
	}
}

static void
test_error_create_errors(void **state)
{
	struct delay_bdev_opts d = {.name = "d0", .base_name = "m0"};
	struct del dl = {};

	assert_int_equal(bdev_error_create("nope", NULL, NULL), -ENODEV);
	assert_int_equal(bdev_error_create("", NULL, NULL), -EINVAL);
	assert_int_equal(bdev_error_create("m0", NULL, NULL), 0);
	assert_non_null(bdev_get_by_name("EE_m0"));
	assert_true(bdev_is_claimed(bdev_get_by_name("m0")));
	assert_int_equal(bdev_error_create("m0", NULL, NULL), -EEXIST);
	/* The base is claimed: another virtual bdev cannot take it. */
	assert_int_equal(bdev_delay_create(&d, NULL), -EPERM);
	assert_null(bdev_get_by_name("d0"));
	assert_int_equal(bdev_error_inject("nope", BDEV_IO_TYPE_READ, ERROR_INJECT_FAILURE, 1, 0, 0),
			 -ENODEV);
	assert_int_equal(bdev_error_inject("m0", BDEV_IO_TYPE_READ, ERROR_INJECT_FAILURE, 1, 0, 0),
			 -ENODEV);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_READ, ERROR_INJECT_CORRUPT, 1, 0,
					   0), -EINVAL);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_INVALID, ERROR_INJECT_FAILURE, 1,
					   0, 0), -EINVAL);
	assert_int_equal(bdev_error_delete("m0", del_done, &dl), -ENODEV);
	assert_int_equal(bdev_error_delete("EE_m0", del_done, &dl), 0);
	ut_poll_threads();
	assert_int_equal(dl.called, 1);
	assert_false(bdev_is_claimed(bdev_get_by_name("m0")));
}

static void
test_error_inject_failure_and_passthrough(void **state)
{
	struct utb u;
	struct utb_cpl c;
	char buf[4096];
	struct del dl = {};

	assert_int_equal(bdev_error_create("m0", NULL, NULL), 0);
	utb_open(&u, "EE_m0", 2);
	utb_check_basic(&u, true);
	utb_check_unaligned(&u);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_READ, ERROR_INJECT_FAILURE, 2, 0,
					   0), 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, buf, 0, 1, &c), 0);
	assert_true(c.success);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, buf, 0, 1, &c), 0);
	assert_false(c.success);
	assert_int_equal(c.err, -EIO);
	/* The count is shared across threads. */
	assert_int_equal(utb_io(&u, 1, BDEV_IO_TYPE_READ, buf, 0, 1, &c), 0);
	assert_false(c.success);
	assert_int_equal(utb_io(&u, 1, BDEV_IO_TYPE_READ, buf, 0, 1, &c), 0);
	assert_true(c.success);
	/* all types, then clear */
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_NUM_IO_TYPES, ERROR_INJECT_FAILURE, 10, 0,
					   0), 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, buf, 0, 1, &c), 0);
	assert_false(c.success);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_FLUSH, NULL, 0, 1, &c), 0);
	assert_false(c.success);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_NUM_IO_TYPES, ERROR_INJECT_NONE, 0, 0, 0),
			 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, buf, 0, 1, &c), 0);
	assert_true(c.success);
	utb_random_integrity(&u, 128, 1000, 4, 7);
	utb_close(&u);
	assert_int_equal(bdev_error_delete("EE_m0", del_done, &dl), 0);
	ut_poll_threads();
	assert_int_equal(dl.called, 1);
}

static void
test_error_pending_and_reset(void **state)
{
	struct utb u;
	struct utb_cpl pend, r;
	char buf[512];
	struct del dl = {};

	assert_int_equal(bdev_error_create("m0", NULL, NULL), 0);
	utb_open(&u, "EE_m0", 2);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_READ, ERROR_INJECT_PENDING, 1, 0,
					   0), 0);
	memset(&pend, 0, sizeof(pend));
	ut_set_thread(2);
	assert_int_equal(bdev_read_blocks(u.desc[1], u.ch[1], buf, 0, 1, utb_io_done, &pend), 0);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(pend.done, 0);
	/* A reset on another thread aborts it. */
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_RESET, NULL, 0, 0, &r), 0);
	assert_true(r.success);
	assert_int_equal(pend.done, 1);
	assert_int_equal(pend.status, BDEV_IO_STATUS_ABORTED);
	utb_close(&u);
	assert_int_equal(bdev_error_delete("EE_m0", del_done, &dl), 0);
	ut_poll_threads();
}

static void
test_error_corrupt_data(void **state)
{
	struct utb u, ub;
	struct utb_cpl c;
	uint8_t w[512], r[512];
	struct del dl = {};

	assert_int_equal(bdev_error_create("m0", NULL, NULL), 0);
	utb_open(&u, "EE_m0", 1);
	memset(w, 0x11, sizeof(w));
	/* Corrupt a write: the base gets byte 5 flipped. */
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_WRITE, ERROR_INJECT_CORRUPT, 1, 5,
					   0xff), 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, w, 3, 1, &c), 0);
	assert_true(c.success);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, r, 3, 1, &c), 0);
	assert_int_equal(r[5], 0x11 ^ 0xff);
	assert_int_equal(r[4], 0x11);
	/* Corrupt a read: the data on the base stays right. */
	memset(w, 0x22, sizeof(w));
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, w, 4, 1, &c), 0);
	assert_int_equal(bdev_error_inject("EE_m0", BDEV_IO_TYPE_READ, ERROR_INJECT_CORRUPT, 1, 100,
					   0x0f), 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, r, 4, 1, &c), 0);
	assert_int_equal(r[100], 0x22 ^ 0x0f);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, r, 4, 1, &c), 0);
	assert_int_equal(r[100], 0x22);
	utb_close(&u);
	(void)ub;
	assert_int_equal(bdev_error_delete("EE_m0", del_done, &dl), 0);
	ut_poll_threads();
}

static void
test_error_base_removed(void **state)
{
	struct utb u;
	struct del dl = {};

	assert_int_equal(bdev_error_create("m0", NULL, NULL), 0);
	utb_open(&u, "EE_m0", 1);
	/* Deleting the base hot-removes the error bdev above it. */
	assert_int_equal(bdev_malloc_delete("m0", del_done, &dl), 0);
	ut_poll_threads();
	assert_int_equal(u.removes, 1);
	assert_int_equal(dl.called, 0);
	utb_close(&u);
	assert_int_equal(dl.called, 1);
	assert_null(bdev_get_by_name("EE_m0"));
	assert_null(bdev_get_by_name("m0"));
}

static void
test_delay_create_errors(void **state)
{
	struct delay_bdev_opts d = {.name = "d0", .base_name = "m0"};
	struct del dl = {};

	d.latency_us[DELAY_AVG_READ] = 100;
	d.latency_us[DELAY_P99_READ] = 50;
	assert_int_equal(bdev_delay_create(&d, NULL), -EINVAL);
	d.latency_us[DELAY_P99_READ] = 200;
	d.base_name = "nope";
	assert_int_equal(bdev_delay_create(&d, NULL), -ENODEV);
	d.base_name = "m0";
	d.name = "m0";
	assert_int_equal(bdev_delay_create(&d, NULL), -EEXIST);
	d.name = "d0";
	assert_int_equal(bdev_delay_create(&d, NULL), 0);
	assert_int_equal(bdev_delay_update_latency("nope", DELAY_AVG_READ, 1), -ENODEV);
	assert_int_equal(bdev_delay_update_latency("d0", DELAY_NUM_LATENCIES, 1), -EINVAL);
	assert_int_equal(bdev_delay_update_latency("d0", DELAY_AVG_READ, 1), 0);
	assert_int_equal(bdev_delay_delete("nope", del_done, &dl), -ENODEV);
	assert_int_equal(bdev_delay_delete("d0", del_done, &dl), 0);
	ut_poll_threads();
	assert_int_equal(dl.called, 1);
}

static uint64_t
timed_read(struct utb *u, char *buf)
{
	struct utb_cpl c = {};
	uint64_t t0 = util_now_us();

	ut_set_thread(1);
	assert_int_equal(bdev_read_blocks(u->desc[0], u->ch[0], buf, 0, 1, utb_io_done, &c), 0);
	ut_set_thread(0);
	wait_timed(&c.done, 1);
	assert_true(c.success);
	return util_now_us() - t0;
}

static void
test_delay_latency(void **state)
{
	struct delay_bdev_opts d = {.name = "d0", .base_name = "m0"};
	struct utb u;
	struct del dl = {};
	char buf[512];
	uint64_t t;

	d.latency_us[DELAY_AVG_READ] = 20000;
	d.latency_us[DELAY_P99_READ] = 20000;
	assert_int_equal(bdev_delay_create(&d, NULL), 0);
	utb_open(&u, "d0", 1);
	t = timed_read(&u, buf);
	assert_true(t >= 20000);
	assert_int_equal(bdev_delay_update_latency("d0", DELAY_AVG_READ, 0), 0);
	assert_int_equal(bdev_delay_update_latency("d0", DELAY_P99_READ, 0), 0);
	t = timed_read(&u, buf);
	assert_true(t < 20000);
	/* Data goes through unchanged. */
	utb_check_basic(&u, true);
	utb_close(&u);
	assert_int_equal(bdev_delay_delete("d0", del_done, &dl), 0);
	ut_poll_threads();
	assert_int_equal(dl.called, 1);
	assert_false(bdev_is_claimed(bdev_get_by_name("m0")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_error_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_inject_failure_and_passthrough, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_error_pending_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_corrupt_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_base_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_latency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

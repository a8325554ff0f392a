/* SPDX-License-Identifier: BSD-3-Clause */
/* malloc and null backends through the bdev core. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../common/ut_thread.h"
#include "../common/bdev_ut_common.h"
#include "../../../../../lib/bdev/malloc/bdev_malloc.h"
#include "../../../../../lib/bdev/null/bdev_null.h"

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
	ut_threads_init(UTB_MAX_THREADS + 1);
	return 0;
}

static int
teardown(void **state)
{
	ut_threads_fini();
	return 0;
}

static void
test_malloc_create_bad_args(void **state)
{
	struct malloc_bdev_opts o = {.name = "m0", .num_blocks = 16, .block_size = 512};
	struct bdev *b;
	struct del d = {};

	o.block_size = 520;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.block_size = 256;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.block_size = 0;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.block_size = 4096;
	o.num_blocks = 0;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.num_blocks = UINT64_MAX / 1024;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.num_blocks = 16;
	o.physical_block_size = 512;
	assert_int_equal(bdev_malloc_create(&o, &b), -EINVAL);
	o.physical_block_size = 0;
	assert_null(bdev_get_by_name("m0"));
	assert_int_equal(bdev_malloc_create(&o, &b), 0);
	assert_string_equal(bdev_get_name(b), "m0");
	assert_int_equal(bdev_get_block_size(b), 4096);
	assert_true(bdev_has_write_cache(b));
	assert_int_equal(bdev_malloc_create(&o, &b), -EEXIST);
	/* Auto names. */
	o.name = NULL;
	assert_int_equal(bdev_malloc_create(&o, &b), 0);
	assert_non_null(strstr(bdev_get_name(b), "Malloc"));
	assert_int_equal(bdev_malloc_delete(bdev_get_name(b), del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(d.called, 1);
	assert_int_equal(bdev_malloc_delete("nope", del_done, &d), -ENODEV);
	/* A null bdev is not a malloc bdev. */
	{
		struct null_bdev_opts n = {.name = "n0", .num_blocks = 8, .block_size = 512};

		assert_int_equal(bdev_null_create(&n, NULL), 0);
		assert_int_equal(bdev_malloc_delete("n0", del_done, &d), -ENODEV);
		assert_int_equal(bdev_null_delete("n0", del_done, &d), 0);
	}
	assert_int_equal(bdev_malloc_delete("m0", del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(d.called, 3);
	assert_int_equal(d.rc, 0);
	assert_null(bdev_get_by_name("m0"));
}

static void
test_malloc_rw_unmap_flush(void **state)
{
	struct malloc_bdev_opts o = {.name = "m0", .num_blocks = 1024, .block_size = 512};
	struct utb u;
	struct del d = {};

	assert_int_equal(bdev_malloc_create(&o, NULL), 0);
	utb_open(&u, "m0", 2);
	utb_check_basic(&u, true);
	utb_check_unaligned(&u);
	utb_close(&u);
	assert_int_equal(bdev_malloc_delete("m0", del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(d.called, 1);
}

static void
test_malloc_delete_while_open(void **state)
{
	struct malloc_bdev_opts o = {.name = "m0", .num_blocks = 64, .block_size = 4096};
	struct utb u;
	struct del d = {};

	assert_int_equal(bdev_malloc_create(&o, NULL), 0);
	utb_open(&u, "m0", 1);
	assert_int_equal(bdev_malloc_delete("m0", del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(u.removes, 1);
	assert_int_equal(d.called, 0);
	utb_close(&u);
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
}

static void
test_malloc_random_integrity(void **state)
{
	struct malloc_bdev_opts o = {.name = "m0", .num_blocks = 256, .block_size = 512};
	struct utb u;
	struct del d = {};

	assert_int_equal(bdev_malloc_create(&o, NULL), 0);
	utb_open(&u, "m0", UTB_MAX_THREADS);
	utb_random_integrity(&u, 256, 4000, 8, 1);
	utb_random_integrity(&u, 64, 2000, 4, 2);	/* dense: many overlaps over time */
	utb_close(&u);
	assert_int_equal(bdev_malloc_delete("m0", del_done, &d), 0);
	ut_poll_threads();
}

static void
test_null_rw_and_resize(void **state)
{
	struct null_bdev_opts o = {.name = "n0", .num_blocks = 2048, .block_size = 512};
	struct utb u;
	struct utb_cpl c;
	struct del d = {};
	uint8_t buf[4096];
	int resizes;

	assert_int_equal(bdev_null_create(&o, NULL), 0);
	assert_int_equal(bdev_null_create(&o, NULL), -EEXIST);
	o.name = "n1";
	o.block_size = 1000;
	assert_int_equal(bdev_null_create(&o, NULL), -EINVAL);
	o.block_size = 512;
	o.num_blocks = 0;
	assert_int_equal(bdev_null_create(&o, NULL), -EINVAL);
	o.name = NULL;
	o.num_blocks = 8;
	assert_int_equal(bdev_null_create(&o, NULL), -EINVAL);

	utb_open(&u, "n0", 1);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, buf, 0, 8, &c), 0);
	assert_true(c.success);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, buf, 0, 8, &c), 0);
	assert_true(c.success);
	for (size_t i = 0; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0);
	}
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE_ZEROES, NULL, 0, 8, &c), 0);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_UNMAP, NULL, 0, 8, &c), -ENOTSUP);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_FLUSH, NULL, 0, 8, &c), -ENOTSUP);
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_RESET, NULL, 0, 0, &c), 0);
	assert_true(c.success);

	/* 1 MiB -> 2 MiB: RESIZE to the open descriptor; shrinking while open is refused. */
	assert_int_equal(bdev_null_resize("n0", 2), 0);
	assert_int_equal(bdev_get_num_blocks(bdev_get_by_name("n0")), 4096);
	assert_int_equal(bdev_null_resize("n0", 1), -EBUSY);
	assert_int_equal(bdev_null_resize("n0", 0), -EINVAL);
	assert_int_equal(bdev_null_resize("nope", 4), -ENODEV);
	resizes = 0;
	(void)resizes;
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_READ, buf, 4095, 1, &c), 0);
	utb_close(&u);
	assert_int_equal(bdev_null_resize("n0", 1), 0);
	assert_int_equal(bdev_null_delete("n0", del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(d.called, 1);
	assert_int_equal(bdev_null_delete("n0", del_done, &d), -ENODEV);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malloc_create_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malloc_rw_unmap_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malloc_delete_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malloc_random_integrity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_rw_and_resize, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aio and uring backends against a temp file (on /var/tmp: a real filesystem
 * with O_DIRECT) and a loop device (losetup; skipped with a reason if that
 * fails, e.g. without privileges).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "../../../common/ut_thread.h"
#include "../common/bdev_ut_common.h"
#include "../../../../../lib/bdev/aio/bdev_aio.h"
#include "../../../../../lib/bdev/uring/bdev_uring.h"

#define FILE_MB 8

struct backend {
	const char	*kind;
	int		(*create)(const char *name, const char *file, uint32_t bs);
	int		(*del)(const char *name, bdev_unregister_cb cb, void *arg);
	int		(*rescan)(const char *name);
};

static int
aio_create(const char *name, const char *file, uint32_t bs)
{
	struct aio_bdev_opts o = {.name = name, .filename = file, .block_size = bs};

	return bdev_aio_create(&o, NULL);
}

static int
uring_create(const char *name, const char *file, uint32_t bs)
{
	struct uring_bdev_opts o = {.name = name, .filename = file, .block_size = bs};

	return bdev_uring_create(&o, NULL);
}

static const struct backend g_aio = {"aio", aio_create, bdev_aio_delete, bdev_aio_rescan};
static const struct backend g_uring = {"uring", uring_create, bdev_uring_delete,
				       bdev_uring_rescan};

static char g_path[64];
static char g_loop[64];

static void
make_file(const char *path, off_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int
setup(void **state)
{
	ut_threads_init(UTB_MAX_THREADS + 1);
	snprintf(g_path, sizeof(g_path), "/var/tmp/vhd_bdev_ut.%d", (int)getpid());
	make_file(g_path, (off_t)FILE_MB << 20);
	return 0;
}

static int
teardown(void **state)
{
	ut_threads_fini();
	unlink(g_path);
	return 0;
}

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

static void
delete_sync(const struct backend *b, const char *name)
{
	struct del d = {};

	assert_int_equal(b->del(name, del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
	assert_null(bdev_get_by_name(name));
}

static void
check_create_errors(const struct backend *b)
{
	char odd[80], empty[80];

	snprintf(odd, sizeof(odd), "%s.odd", g_path);
	snprintf(empty, sizeof(empty), "%s.empty", g_path);
	make_file(odd, 4096 + 100);
	make_file(empty, 0);
	assert_int_equal(b->create("f0", "/nonexistent/file", 512), -ENOENT);
	assert_int_equal(b->create("f0", odd, 512), -EINVAL);	/* not a multiple */
	assert_int_equal(b->create("f0", empty, 512), -EINVAL);	/* zero size */
	assert_int_equal(b->create("f0", g_path, 1000), -EINVAL);	/* not a power of two */
	assert_int_equal(b->create("f0", g_path, 256), -EINVAL);	/* < 512 */
	assert_int_equal(b->create("f0", "/var/tmp", 512), -EISDIR);	/* a directory */
	assert_int_equal(b->create("f0", "", 512), -EINVAL);
	assert_null(bdev_get_by_name("f0"));
	assert_int_equal(b->create("f0", g_path, 0), 0);
	/* Regular files default to 512-byte blocks. */
	assert_int_equal(bdev_get_block_size(bdev_get_by_name("f0")), 512);
	assert_int_equal(bdev_get_num_blocks(bdev_get_by_name("f0")), (FILE_MB << 20) / 512);
	assert_int_equal(b->create("f0", g_path, 512), -EEXIST);
	assert_int_equal(b->del("nope", del_done, NULL), -ENODEV);
	assert_int_equal(b->rescan("nope"), -ENODEV);
	delete_sync(b, "f0");
	unlink(odd);
	unlink(empty);
}

static void
check_io(const struct backend *b, const char *file, uint32_t bs, bool unmap_zero)
{
	struct utb u;
	struct bdev *bdev;

	assert_int_equal(b->create("f0", file, bs), 0);
	bdev = bdev_get_by_name("f0");
	/* O_DIRECT: the backend declares its alignment, so the core bounces. */
	assert_true(bdev->required_alignment >= 512);
	utb_open(&u, "f0", 3);
	utb_check_basic(&u, unmap_zero);
	utb_check_unaligned(&u);
	/* Random offsets and sizes, overlapping writes over time, 3 threads, unaligned buffers. */
	utb_random_integrity(&u, 512, 3000, 8, 42);
	utb_close(&u);
	delete_sync(b, "f0");
}

static void
check_rescan_and_remove(const struct backend *b)
{
	struct utb u;
	struct del d = {};
	struct utb_cpl c;
	char buf[4096];

	assert_int_equal(b->create("f0", g_path, 4096), 0);
	assert_int_equal(bdev_get_block_size(bdev_get_by_name("f0")), 4096);
	utb_open(&u, "f0", 1);
	assert_int_equal(truncate(g_path, (off_t)(FILE_MB + 1) << 20), 0);
	assert_int_equal(b->rescan("f0"), 0);
	assert_int_equal(bdev_get_num_blocks(bdev_get_by_name("f0")), ((FILE_MB + 1) << 20) / 4096);
	/* The new last block is usable. */
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(utb_io(&u, 0, BDEV_IO_TYPE_WRITE, buf, ((FILE_MB + 1) << 20) / 4096 - 1, 1,
				&c), 0);
	assert_true(c.success);
	/* Shrinking while open is refused. */
	assert_int_equal(truncate(g_path, (off_t)FILE_MB << 20), 0);
	assert_int_equal(b->rescan("f0"), -EBUSY);
	/* Delete while open: REMOVE, then completion once closed. */
	assert_int_equal(b->del("f0", del_done, &d), 0);
	ut_poll_threads();
	assert_int_equal(u.removes, 1);
	assert_int_equal(d.called, 0);
	utb_close(&u);
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
}

static bool
loop_attach(void)
{
	char cmd[160];
	FILE *p;

	g_loop[0] = '\0';
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", g_path);
	p = popen(cmd, "r");
	if (p == NULL) {
		return false;
	}
	if (fgets(g_loop, sizeof(g_loop), p) == NULL) {
		g_loop[0] = '\0';
	}
	pclose(p);
	g_loop[strcspn(g_loop, "\n")] = '\0';
	return strncmp(g_loop, "/dev/loop", 9) == 0;
}

static void
loop_detach(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "losetup -d %s", g_loop);
	assert_int_equal(system(cmd), 0);
}

static void
check_loop(const struct backend *b)
{
	struct bdev *bdev;

	if (!loop_attach()) {
		print_message("SKIP %s loop device: losetup -f --show failed (no privileges or "
			      "no loop driver)\n", b->kind);
		skip();
		return;
	}
	assert_int_equal(b->create("f0", g_loop, 4096), 0);
	bdev = bdev_get_by_name("f0");
	assert_int_equal(bdev_get_block_size(bdev), 4096);
	delete_sync(b, "f0");
	/* Detected: the loop device's logical block size. */
	check_io(b, g_loop, 0, false);
	loop_detach();
}

static void test_aio_create_errors(void **s) { check_create_errors(&g_aio); }
static void test_uring_create_errors(void **s) { check_create_errors(&g_uring); }
static void test_aio_file_io(void **s) { check_io(&g_aio, g_path, 512, true); }
static void test_uring_file_io(void **s) { check_io(&g_uring, g_path, 512, true); }
static void test_aio_file_io_4k(void **s) { check_io(&g_aio, g_path, 4096, true); }
static void test_uring_file_io_4k(void **s) { check_io(&g_uring, g_path, 4096, true); }
static void test_aio_rescan_and_remove(void **s) { check_rescan_and_remove(&g_aio); }
static void test_uring_rescan_and_remove(void **s) { check_rescan_and_remove(&g_uring); }
static void test_aio_loop_device(void **s) { check_loop(&g_aio); }
static void test_uring_loop_device(void **s) { check_loop(&g_uring); }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aio_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aio_file_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_file_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aio_file_io_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_file_io_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aio_rescan_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_rescan_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aio_loop_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uring_loop_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

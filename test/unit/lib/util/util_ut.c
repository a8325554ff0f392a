/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"

static char g_dir[64];

static int
setup_dir(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vhd_util_ut.XXXXXX");
	return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_util_ticks_monotonic(void **state)
{
	uint64_t a, b, us;

	assert_int_equal(util_get_ticks_hz(), 1000000000ULL);
	a = util_get_ticks();
	usleep(2000);
	b = util_get_ticks();
	assert_true(b - a >= 2000000ULL);
	us = util_now_us();
	assert_true(us >= b / 1000);
}

static void
test_util_parse_u64(void **state)
{
	uint64_t v = 7;

	assert_int_equal(util_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(util_parse_u64("12345", &v), 0);
	assert_int_equal(v, 12345);
	assert_int_equal(util_parse_u64("0x1F", &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(util_parse_u64("0XfF", &v), 0);
	assert_int_equal(v, 255);
	/* Decimal, never octal. */
	assert_int_equal(util_parse_u64("010", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(util_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(util_parse_u64("0xffffffffffffffff", &v), 0);
	assert_true(v == UINT64_MAX);

	v = 7;
	assert_int_equal(util_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(util_parse_u64("0x10000000000000000", &v), -ERANGE);
	assert_int_equal(util_parse_u64("", &v), -EINVAL);
	assert_int_equal(util_parse_u64("0x", &v), -EINVAL);
	assert_int_equal(util_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(util_parse_u64("+1", &v), -EINVAL);
	assert_int_equal(util_parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(util_parse_u64("1 ", &v), -EINVAL);
	assert_int_equal(util_parse_u64("12a", &v), -EINVAL);
	assert_int_equal(util_parse_u64("0x-1", &v), -EINVAL);
	assert_int_equal(util_parse_u64("0xg", &v), -EINVAL);
	assert_int_equal(util_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(util_parse_u64("1", NULL), -EINVAL);
	assert_int_equal(v, 7);
}

static void
test_util_name_is_safe(void **state)
{
	assert_true(util_name_is_safe("vhost.0", 16));
	assert_true(util_name_is_safe("Malloc_0-a", 16));
	assert_true(util_name_is_safe("...", 16));
	assert_true(util_name_is_safe("abcd", 4));
	assert_false(util_name_is_safe("abcde", 4));
	assert_false(util_name_is_safe("", 16));
	assert_false(util_name_is_safe(NULL, 16));
	assert_false(util_name_is_safe(".", 16));
	assert_false(util_name_is_safe("..", 16));
	assert_false(util_name_is_safe("a/b", 16));
	assert_false(util_name_is_safe("../x", 16));
	assert_false(util_name_is_safe("a b", 16));
	assert_false(util_name_is_safe("a\nb", 16));
	assert_false(util_name_is_safe("caf\xc3\xa9", 16));
}

static void
test_util_uuid(void **state)
{
	struct util_uuid a, b, c;
	char s[37], s2[37];

	util_uuid_generate(&a);
	util_uuid_generate(&b);
	assert_memory_not_equal(a.u, b.u, 16);
	assert_false(util_uuid_is_null(&a));
	/* Version 4, RFC 4122 variant. */
	assert_int_equal(a.u[6] >> 4, 4);
	assert_int_equal(a.u[8] >> 6, 2);

	util_uuid_fmt(s, &a);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(s[14], '4');
	assert_int_equal(util_uuid_parse(s, &c), 0);
	assert_memory_equal(a.u, c.u, 16);

	assert_int_equal(util_uuid_parse("0123ABCD-4567-89ab-cdef-0123456789AB", &c), 0);
	util_uuid_fmt(s2, &c);
	assert_string_equal(s2, "0123abcd-4567-89ab-cdef-0123456789ab");
	assert_int_equal(c.u[0], 0x01);
	assert_int_equal(c.u[15], 0xab);

	memset(&c, 0, sizeof(c));
	assert_true(util_uuid_is_null(&c));
	assert_int_equal(util_uuid_parse("00000000-0000-0000-0000-000000000000", &c), 0);
	assert_true(util_uuid_is_null(&c));
}

static void
test_util_uuid_parse_errors(void **state)
{
	const char *bad[] = {
		"",
		"0123abcd-4567-89ab-cdef-0123456789a",
		"0123abcd-4567-89ab-cdef-0123456789abc",
		"0123abcd04567-89ab-cdef-0123456789ab",
		"0123abcd-4567-89ab-cdef_0123456789ab",
		"0123abcg-4567-89ab-cdef-0123456789ab",
		"0123abcd-4567-89ab-cdef-0123456789a ",
		"0123abcd-4567-89ab-cd-ef0123456789ab",
		"{0123abcd-4567-89ab-cdef-0123456789}",
	};
	struct util_uuid u, orig;
	size_t i;

	util_uuid_generate(&u);
	orig = u;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(util_uuid_parse(bad[i], &u), -EINVAL);
		assert_memory_equal(u.u, orig.u, 16);
	}
	assert_int_equal(util_uuid_parse(NULL, &u), -EINVAL);
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static void
test_util_file_write_atomic(void **state)
{
	char path[128], *buf = NULL;
	struct stat st;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/state.json", g_dir);
	assert_int_equal(util_file_write_atomic(path, "hello", 5, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(util_file_read(path, &buf, &len, 1024), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);

	/* Replaces the old content as a whole; no temporary left behind. */
	assert_int_equal(util_file_write_atomic(path, "bye", 3, 0644), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(util_file_read(path, &buf, &len, 1024), 0);
	assert_string_equal(buf, "bye");
	free(buf);
	assert_int_equal(count_entries(g_dir), 1);

	/* Empty content. */
	assert_int_equal(util_file_write_atomic(path, NULL, 0, 0600), 0);
	assert_int_equal(util_file_read(path, &buf, &len, 1024), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void
test_util_file_write_atomic_errors(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nodir/state.json", g_dir);
	assert_int_equal(util_file_write_atomic(path, "x", 1, 0600), -ENOENT);
	assert_int_equal(util_file_write_atomic("", "x", 1, 0600), -EINVAL);
	assert_int_equal(util_file_write_atomic(NULL, "x", 1, 0600), -EINVAL);
	snprintf(path, sizeof(path), "%s/x", g_dir);
	assert_int_equal(util_file_write_atomic(path, NULL, 1, 0600), -EINVAL);
	/* rename onto a directory fails; the temporary is removed. */
	snprintf(path, sizeof(path), "%s/adir", g_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(util_file_write_atomic(path, "x", 1, 0600) < 0);
	/* state.json from the previous test and adir only. */
	assert_int_equal(count_entries(g_dir), 2);
	rmdir(path);
}

static void
test_util_file_read(void **state)
{
	char path[128], *buf = NULL, big[10000];
	size_t len = 0;

	memset(big, 'a', sizeof(big));
	snprintf(path, sizeof(path), "%s/big", g_dir);
	assert_int_equal(util_file_write_atomic(path, big, sizeof(big), 0600), 0);
	assert_int_equal(util_file_read(path, &buf, &len, sizeof(big)), 0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(buf, big, sizeof(big));
	assert_int_equal(buf[len], '\0');
	free(buf);
	buf = NULL;
	assert_int_equal(util_file_read(path, &buf, NULL, sizeof(big) - 1), -EFBIG);
	assert_null(buf);
	assert_int_equal(util_file_read(path, &buf, NULL, 100), -EFBIG);

	snprintf(path, sizeof(path), "%s/missing", g_dir);
	assert_int_equal(util_file_read(path, &buf, &len, 100), -ENOENT);
	assert_int_equal(util_file_read(g_dir, &buf, &len, 100), -EISDIR);
	assert_int_equal(util_file_read(NULL, &buf, &len, 100), -EINVAL);
}

static void
test_util_macros(void **state)
{
	struct s {
		int a;
		int b;
	} x;
	int arr[5];

	assert_ptr_equal(VHD_CONTAINER_OF(&x.b, struct s, b), &x);
	assert_int_equal(VHD_COUNTOF(arr), 5);
	assert_int_equal(VHD_ALIGN_UP(65u, 64u), 128);
	assert_int_equal(VHD_ALIGN_UP(64u, 64u), 64);
	assert_true(VHD_IS_POW2(64));
	assert_false(VHD_IS_POW2(0));
	assert_false(VHD_IS_POW2(12));
	assert_int_equal(VHD_MIN(3, 4), 3);
	assert_int_equal(VHD_MAX(3, 4), 4);
	/* The util component is registered by the library. */
	assert_int_equal(log_set_flag("util", true), 0);
	assert_true(log_get_flag("util"));
	assert_int_equal(log_set_flag("util", false), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_ticks_monotonic),
		cmocka_unit_test(test_util_parse_u64),
		cmocka_unit_test(test_util_name_is_safe),
		cmocka_unit_test(test_util_uuid),
		cmocka_unit_test(test_util_uuid_parse_errors),
		cmocka_unit_test(test_util_file_write_atomic),
		cmocka_unit_test(test_util_file_write_atomic_errors),
		cmocka_unit_test(test_util_file_read),
		cmocka_unit_test(test_util_macros),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

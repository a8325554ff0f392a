/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vhostd/cpuset.h"

static void
test_cpuset_parse_hex(void **state)
{
	struct cpuset s;
	char buf[300];

	assert_int_equal(cpuset_parse(&s, "0x3"), 0);
	assert_int_equal(cpuset_count(&s), 2);
	assert_true(cpuset_get_cpu(&s, 0));
	assert_true(cpuset_get_cpu(&s, 1));
	assert_false(cpuset_get_cpu(&s, 2));
	assert_string_equal(cpuset_fmt_hex(&s, buf, sizeof(buf)), "0x3");

	/* SPDK accepts hex without the prefix. */
	assert_int_equal(cpuset_parse(&s, "3"), 0);
	assert_int_equal(cpuset_count(&s), 2);
	assert_int_equal(cpuset_parse(&s, "A0"), 0);
	assert_true(cpuset_get_cpu(&s, 5));
	assert_true(cpuset_get_cpu(&s, 7));
	assert_int_equal(cpuset_count(&s), 2);
	assert_string_equal(cpuset_fmt_hex(&s, buf, sizeof(buf)), "0xa0");

	assert_int_equal(cpuset_parse(&s, "0X100000000000000000"), 0);
	assert_int_equal(cpuset_count(&s), 1);
	assert_true(cpuset_get_cpu(&s, 68));
	assert_string_equal(cpuset_fmt_hex(&s, buf, sizeof(buf)), "0x100000000000000000");

	/* Leading zeros beyond 1024 bits are harmless. */
	memset(buf, '0', 280);
	buf[0] = '0';
	buf[1] = 'x';
	buf[279] = '1';
	buf[280] = '\0';
	assert_int_equal(cpuset_parse(&s, buf), 0);
	assert_int_equal(cpuset_count(&s), 1);
	assert_true(cpuset_get_cpu(&s, 0));
}

static void
test_cpuset_parse_list(void **state)
{
	struct cpuset s;
	char buf[300];

	assert_int_equal(cpuset_parse(&s, "[0,2-3]"), 0);
	assert_int_equal(cpuset_count(&s), 3);
	assert_true(cpuset_get_cpu(&s, 0));
	assert_false(cpuset_get_cpu(&s, 1));
	assert_true(cpuset_get_cpu(&s, 2));
	assert_true(cpuset_get_cpu(&s, 3));
	assert_string_equal(cpuset_fmt_hex(&s, buf, sizeof(buf)), "0xd");

	assert_int_equal(cpuset_parse(&s, "[1023]"), 0);
	assert_true(cpuset_get_cpu(&s, 1023));
	assert_int_equal(cpuset_count(&s), 1);
	assert_int_equal(strlen(cpuset_fmt_hex(&s, buf, sizeof(buf))), 2 + 256);

	assert_int_equal(cpuset_parse(&s, "[ 1 , 4 - 5 ]"), 0);
	assert_int_equal(cpuset_count(&s), 3);
	assert_int_equal(cpuset_parse(&s, "[5,5,5-5]"), 0);
	assert_int_equal(cpuset_count(&s), 1);
}

static void
test_cpuset_parse_errors(void **state)
{
	const char *bad[] = {
		"", "0x", "0", "0x0", "[]", "[", "]", "[1-0]", "[1,]", "[,1]", "[1024]",
		"[0-1024]", "[0,2-3", "[0]x", "0x1g", "x1", "-1", "[-1]", "[1-]", "[a]", " 0x1",
		"0x1 ", "[1--2]", "[99999999999999999999]",
	};
	struct cpuset s, orig;
	char big[300];
	size_t i;

	assert_int_equal(cpuset_parse(&s, "0x5"), 0);
	orig = s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cpuset_parse(&s, bad[i]), -EINVAL);
		/* A failed parse leaves the set untouched. */
		assert_true(cpuset_equal(&s, &orig));
	}
	assert_int_equal(cpuset_parse(NULL, "1"), -EINVAL);
	assert_int_equal(cpuset_parse(&s, NULL), -EINVAL);

	/* Bit 1024: one hex digit too many. */
	big[0] = '1';
	memset(big + 1, '0', 256);
	big[257] = '\0';
	assert_int_equal(cpuset_parse(&s, big), -EINVAL);
	big[0] = '8';
	big[256] = '\0';	/* bit 1023: fine */
	assert_int_equal(cpuset_parse(&s, big), 0);
	assert_true(cpuset_get_cpu(&s, 1023));
}

static void
test_cpuset_ops(void **state)
{
	struct cpuset a, b;
	char small[4];

	cpuset_zero(&a);
	assert_int_equal(cpuset_count(&a), 0);
	assert_int_equal(cpuset_next(&a, 0), -1);
	assert_string_equal(cpuset_fmt_hex(&a, small, sizeof(small)), "0x0");
	cpuset_set_cpu(&a, 3, true);
	cpuset_set_cpu(&a, 9, true);
	cpuset_set_cpu(&a, 5000, true);	/* ignored */
	assert_false(cpuset_get_cpu(&a, 5000));
	assert_int_equal(cpuset_count(&a), 2);
	assert_int_equal(cpuset_next(&a, -5), 3);
	assert_int_equal(cpuset_next(&a, 3), 3);
	assert_int_equal(cpuset_next(&a, 4), 9);
	assert_int_equal(cpuset_next(&a, 10), -1);
	assert_int_equal(cpuset_next(&a, 2000), -1);
	/* Truncated to the buffer, NUL-terminated. */
	assert_string_equal(cpuset_fmt_hex(&a, small, sizeof(small)), "0x2");

	assert_int_equal(cpuset_parse(&b, "[3,9,10]"), 0);
	assert_true(cpuset_is_subset(&a, &b));
	assert_false(cpuset_is_subset(&b, &a));
	assert_false(cpuset_equal(&a, &b));
	cpuset_and(&b, &a);
	assert_true(cpuset_equal(&a, &b));
	cpuset_set_cpu(&a, 3, false);
	assert_false(cpuset_get_cpu(&a, 3));
	assert_int_equal(cpuset_count(&a), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuset_parse_hex),
		cmocka_unit_test(test_cpuset_parse_list),
		cmocka_unit_test(test_cpuset_parse_errors),
		cmocka_unit_test(test_cpuset_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

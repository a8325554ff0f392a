/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the rbd backend's pure parts: the client-address key and the
 * "owner is a dead vhostd" rule that decides whether a stale exclusive lock is
 * broken. (The librbd paths are covered by test/functional/rbd on a real cluster.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "../../../../../lib/bdev/rbd/bdev_rbd.c"

static char g_dir[] = "/tmp/vhd-rbd-ut-XXXXXX";

static void
write_record(const char *key, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, key);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static bool
record_exists(const char *key)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", g_dir, key);
	return access(path, F_OK) == 0;
}

static void
test_addr_key_forms(void **state)
{
	char key[32];

	assert_true(rbd_addr_key("v2:127.0.0.1:0/1234", key, sizeof(key)));
	assert_string_equal(key, "1234");
	assert_true(rbd_addr_key("[v2:127.0.0.1:0/987654321]", key, sizeof(key)));
	assert_string_equal(key, "987654321");
	assert_true(rbd_addr_key("127.0.0.1:0/42", key, sizeof(key)));
	assert_string_equal(key, "42");
}

static void
test_addr_key_invalid(void **state)
{
	char key[8];

	assert_false(rbd_addr_key("client.4151", key, sizeof(key)));
	assert_false(rbd_addr_key("v2:127.0.0.1:0/", key, sizeof(key)));
	assert_false(rbd_addr_key("v2:127.0.0.1:0/x12", key, sizeof(key)));
	assert_false(rbd_addr_key("v2:127.0.0.1:0/../../etc", key, sizeof(key)));
	assert_false(rbd_addr_key("v2:127.0.0.1:0/123456789012", key, sizeof(key)));
}

static void
test_dead_instance_no_record(void **state)
{
	assert_false(rbd_client_is_dead_instance("v2:127.0.0.1:0/111"));
}

static void
test_dead_instance_alive(void **state)
{
	unsigned long long start;
	char buf[128];

	assert_int_equal(rbd_proc_starttime(getpid(), &start), 0);
	snprintf(buf, sizeof(buf), "%d %llu v2:127.0.0.1:0/222\n", (int)getpid(), start);
	write_record("222", buf);
	assert_false(rbd_client_is_dead_instance("v2:127.0.0.1:0/222"));
	assert_true(record_exists("222"));
}

static void
test_dead_instance_exited(void **state)
{
	char buf[128];
	pid_t pid = fork();

	if (pid == 0) {
		_exit(0);
	}
	assert_true(pid > 0);
	waitpid(pid, NULL, 0);
	snprintf(buf, sizeof(buf), "%d 12345 v2:127.0.0.1:0/333\n", (int)pid);
	write_record("333", buf);
	assert_true(rbd_client_is_dead_instance("[v2:127.0.0.1:0/333]"));
	assert_false(record_exists("333"));
}

static void
test_dead_instance_pid_reused(void **state)
{
	unsigned long long start;
	char buf[128];

	/* Our PID, another start time: the recorded process is gone, the PID reused. */
	assert_int_equal(rbd_proc_starttime(getpid(), &start), 0);
	snprintf(buf, sizeof(buf), "%d %llu v2:127.0.0.1:0/444\n", (int)getpid(), start + 1);
	write_record("444", buf);
	assert_true(rbd_client_is_dead_instance("v2:127.0.0.1:0/444"));
}

static void
test_dead_instance_garbage(void **state)
{
	write_record("555", "not a record\n");
	assert_false(rbd_client_is_dead_instance("v2:127.0.0.1:0/555"));
	write_record("556", "0 1\n");
	assert_false(rbd_client_is_dead_instance("v2:127.0.0.1:0/556"));
	write_record("557", "");
	assert_false(rbd_client_is_dead_instance("v2:127.0.0.1:0/557"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_key_forms),
		cmocka_unit_test(test_addr_key_invalid),
		cmocka_unit_test(test_dead_instance_no_record),
		cmocka_unit_test(test_dead_instance_alive),
		cmocka_unit_test(test_dead_instance_exited),
		cmocka_unit_test(test_dead_instance_pid_reused),
		cmocka_unit_test(test_dead_instance_garbage),
	};
	char cmd[128];
	int rc;

	if (mkdtemp(g_dir) == NULL) {
		return 1;
	}
	setenv("VHD_RBD_CLIENT_DIR", g_dir, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	if (system(cmd) != 0) {
		rc = rc != 0 ? rc : 1;
	}
	return rc;
}

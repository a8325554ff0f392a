/* SPDX-License-Identifier: BSD-3-Clause */
/* Includes the sources under test to reach their statics (journal detection). */
#include "../../../../lib/util/log.c"
#include "../../../../lib/util/util.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>

VHD_LOG_REGISTER_COMPONENT(ut_beta)
VHD_LOG_REGISTER_COMPONENT(ut_alpha)

static int g_saved_stderr = -1;
static int g_pipe[2] = {-1, -1};

/* Point stderr at a pipe for the duration of one test. */
static int
capture_start(void **state)
{
	if (pipe2(g_pipe, O_NONBLOCK) != 0) {
		return -1;
	}
	fcntl(g_pipe[0], F_SETPIPE_SZ, 1 << 20);
	g_saved_stderr = dup(STDERR_FILENO);
	dup2(g_pipe[1], STDERR_FILENO);
	log_set_level(LOG_LEVEL_NOTICE);
	log_set_journal(false);
	log_set_flag("all", false);
	return 0;
}

static int
capture_stop(void **state)
{
	dup2(g_saved_stderr, STDERR_FILENO);
	close(g_saved_stderr);
	close(g_pipe[0]);
	close(g_pipe[1]);
	return 0;
}

/* Everything written so far (NUL-terminated, static buffer). */
static const char *
captured(void)
{
	static char buf[1 << 20];
	size_t off = 0;
	ssize_t n;

	while (off < sizeof(buf) - 1) {
		n = read(g_pipe[0], buf + off, sizeof(buf) - 1 - off);
		if (n <= 0) {
			break;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++) {
		n += *s == '\n';
	}
	return n;
}

static void
test_log_level_filter(void **state)
{
	const char *out;

	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	VHD_ERRLOG("err %d\n", 1);
	VHD_WARNLOG("warn %d\n", 2);
	VHD_NOTICELOG("notice %d\n", 3);
	VHD_INFOLOG("info %d\n", 4);
	out = captured();
	assert_non_null(strstr(out, "err 1\n"));
	assert_non_null(strstr(out, "warn 2\n"));
	assert_null(strstr(out, "notice 3"));
	assert_null(strstr(out, "info 4"));
	assert_int_equal(count_lines(out), 2);

	log_set_level(LOG_LEVEL_INFO);
	VHD_INFOLOG("info %d\n", 5);
	assert_non_null(strstr(captured(), "info 5\n"));

	/* Out-of-range levels are clamped. */
	log_set_level((enum log_level)99);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level((enum log_level)-3);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
}

static void
test_log_plain_format(void **state)
{
	const char *out;
	int line;

	line = __LINE__ + 1;
	VHD_ERRLOG("vhost.0: boom\n");
	out = captured();
	/* [YYYY-MM-DD HH:MM:SS.uuuuuu] file:line:func: *ERROR*: msg */
	assert_int_equal(out[0], '[');
	assert_int_equal(out[5], '-');
	assert_int_equal(out[27], ']');
	{
		char expect[128];

		snprintf(expect, sizeof(expect),
			 "] log_ut.c:%d:test_log_plain_format: *ERROR*: vhost.0: boom\n", line);
		assert_non_null(strstr(out, expect));
	}

	/* A missing newline is added; exactly one line. */
	VHD_WARNLOG("no newline");
	out = captured();
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "*WARNING*: no newline\n"));
}

static void
test_log_journal_format(void **state)
{
	static const struct {
		enum log_level level;
		const char *prefix;
	} cases[] = {
		{LOG_LEVEL_ERROR, "<3>"}, {LOG_LEVEL_WARN, "<4>"}, {LOG_LEVEL_NOTICE, "<5>"},
		{LOG_LEVEL_INFO, "<6>"}, {LOG_LEVEL_DEBUG, "<7>"},
	};
	const char *out;
	size_t i;

	log_set_journal(true);
	log_set_level(LOG_LEVEL_DEBUG);
	for (i = 0; i < VHD_COUNTOF(cases); i++) {
		log_write(cases[i].level, "dir/f.c", 12, "fn", "msg %zu\n", i);
		out = captured();
		assert_int_equal(strncmp(out, cases[i].prefix, 3), 0);
		/* No timestamp: journald adds its own. */
		assert_int_not_equal(out[3], '[');
		assert_non_null(strstr(out, "f.c:12:fn: "));
		assert_int_equal(count_lines(out), 1);
	}
	log_set_journal(false);
}

static void
test_log_journal_detect(void **state)
{
	struct stat st;
	char env[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	assert_false(log_detect_journal());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_true(log_detect_journal());

	/* Default decided on first use from the environment. */
	g_log_journal = -1;
	VHD_ERRLOG("x\n");
	assert_int_equal(strncmp(captured(), "<3>", 3), 0);

	/* stderr redirected elsewhere: the variable no longer applies. */
	setenv("JOURNAL_STREAM", "1:2", 1);
	assert_false(log_detect_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(log_detect_journal());
	setenv("JOURNAL_STREAM", "", 1);
	assert_false(log_detect_journal());
	unsetenv("JOURNAL_STREAM");
	log_set_journal(false);
}

static void
test_log_long_line_truncated(void **state)
{
	char big[5000];
	const char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	VHD_ERRLOG("%s\n", big);
	out = captured();
	assert_int_equal(count_lines(out), 1);
	assert_true(strlen(out) <= LOG_LINE_MAX);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void
test_log_flags(void **state)
{
	struct log_flag *f;
	const char *prev = NULL;
	bool seen_alpha = false, seen_util = false;
	const char *out;

	/* Sorted by name. */
	for (f = log_flag_first(); f != NULL; f = log_flag_next(f)) {
		if (prev != NULL) {
			assert_true(strcmp(prev, f->name) < 0);
		}
		prev = f->name;
		seen_alpha |= strcmp(f->name, "ut_alpha") == 0;
		seen_util |= strcmp(f->name, "util") == 0;
	}
	assert_true(seen_alpha);
	assert_true(seen_util);
	assert_null(log_flag_next(NULL));

	assert_false(log_get_flag("ut_alpha"));
	assert_int_equal(log_set_flag("ut_alpha", true), 0);
	assert_true(log_get_flag("ut_alpha"));
	assert_false(log_get_flag("ut_beta"));
	assert_int_equal(log_set_flag("nope", true), -ENOENT);
	assert_int_equal(log_set_flag(NULL, true), -EINVAL);
	assert_false(log_get_flag("nope"));
	assert_false(log_get_flag(NULL));

	/* Debug lines need the flag and the DEBUG level. */
	log_set_level(LOG_LEVEL_INFO);
	VHD_DEBUGLOG(ut_alpha, "dbg1\n");
	assert_null(strstr(captured(), "dbg1"));
	log_set_level(LOG_LEVEL_DEBUG);
	VHD_DEBUGLOG(ut_alpha, "dbg2\n");
	VHD_DEBUGLOG(ut_beta, "dbg3\n");
	out = captured();
	assert_non_null(strstr(out, "*DEBUG*: dbg2\n"));
	assert_null(strstr(out, "dbg3"));

	assert_int_equal(log_set_flag("all", true), 0);
	assert_true(log_get_flag("ut_beta"));
	assert_true(log_get_flag("util"));
	VHD_DEBUGLOG(ut_beta, "dbg4\n");
	assert_non_null(strstr(captured(), "dbg4"));
	assert_int_equal(log_set_flag("all", false), 0);
	assert_false(log_get_flag("ut_alpha"));

	/* Registering the same flag twice is harmless. */
	log_register_flag(&g_log_flag_ut_alpha);
	assert_true(log_get_flag("ut_alpha") == false);
}

static void
test_log_level_names(void **state)
{
	enum log_level l = LOG_LEVEL_ERROR;

	assert_int_equal(log_level_from_name("WARNING", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_from_name("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_from_name("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_from_name("NOTICE", &l), 0);
	assert_int_equal(l, LOG_LEVEL_NOTICE);
	assert_int_equal(log_level_from_name("bogus", &l), -EINVAL);
	assert_int_equal(log_level_from_name("", &l), -EINVAL);
	assert_int_equal(log_level_from_name(NULL, &l), -EINVAL);
	assert_int_equal(l, LOG_LEVEL_NOTICE);
	assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "ERROR");
	assert_string_equal(log_level_name(LOG_LEVEL_INFO), "INFO");
	assert_string_equal(log_level_name((enum log_level)42), "UNKNOWN");
}

static void
test_log_ratelimit(void **state)
{
	struct log_ratelimit rl;
	uint32_t supp = 99;
	int i, passed = 0;

	memset(&rl, 0, sizeof(rl));
	for (i = 0; i < 10; i++) {
		if (log_ratelimit_pass(&rl, 3, 100000, &supp)) {
			passed++;
			assert_int_equal(supp, 0);
		}
	}
	assert_int_equal(passed, 3);
	assert_int_equal(rl.suppressed, 7);

	/* Next window: the first line reports what was dropped. */
	rl.window_start_ms -= 100000;
	assert_true(log_ratelimit_pass(&rl, 3, 100000, &supp));
	assert_int_equal(supp, 7);
	assert_true(log_ratelimit_pass(&rl, 3, 100000, &supp));
	assert_int_equal(supp, 0);

	/* The macro: 10 per second per call site, then a summary. */
	for (i = 0; i < 25; i++) {
		VHD_ERRLOG_RATELIMIT("guest error %d\n", i);
	}
	assert_int_equal(count_lines(captured()), 10);
}

static void *
log_thread(void *arg)
{
	int i;

	for (i = 0; i < 200; i++) {
		VHD_ERRLOG("thread %ld line %d ............................................\n",
			   (long)(intptr_t)arg, i);
	}
	return NULL;
}

static void
test_log_threads_no_interleave(void **state)
{
	pthread_t th[4];
	char *out, *line, *save = NULL;
	int i, n = 0;

	for (i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	out = strdup(captured());
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		/* Every line is whole: one prefix, one message. */
		assert_int_equal(line[0], '[');
		assert_non_null(strstr(line, "*ERROR*: thread "));
		assert_int_equal(strcmp(line + strlen(line) - 4, "...."), 0);
		assert_null(strstr(line + 1, "["));
		n++;
	}
	free(out);
	assert_int_equal(n, 800);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_level_filter, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_plain_format, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_journal_format, capture_start,
						capture_stop),
		cmocka_unit_test_setup_teardown(test_log_journal_detect, capture_start,
						capture_stop),
		cmocka_unit_test_setup_teardown(test_log_long_line_truncated, capture_start,
						capture_stop),
		cmocka_unit_test_setup_teardown(test_log_flags, capture_start, capture_stop),
		cmocka_unit_test(test_log_level_names),
		cmocka_unit_test_setup_teardown(test_log_ratelimit, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_threads_no_interleave, capture_start,
						capture_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

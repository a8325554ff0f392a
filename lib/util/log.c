/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging to stderr. Each line is formatted into one buffer and written with a
 * single write(2) so lines from different threads never interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"

#define LOG_LINE_MAX 2048

static enum log_level g_log_level = LOG_LEVEL_NOTICE;
static struct log_flag *g_log_flags;	/* sorted by name; built by constructors */
static pthread_mutex_t g_log_flag_lock = PTHREAD_MUTEX_INITIALIZER;
/* -1: not decided yet (from JOURNAL_STREAM on first use), 0: plain, 1: journald. */
static int g_log_journal = -1;

static const char *const g_level_names[] = {
	[LOG_LEVEL_ERROR] = "ERROR",
	[LOG_LEVEL_WARN] = "WARNING",
	[LOG_LEVEL_NOTICE] = "NOTICE",
	[LOG_LEVEL_INFO] = "INFO",
	[LOG_LEVEL_DEBUG] = "DEBUG",
};

/* syslog priorities: err 3, warning 4, notice 5, info 6, debug 7. */
static const int g_level_prio[] = {
	[LOG_LEVEL_ERROR] = 3,
	[LOG_LEVEL_WARN] = 4,
	[LOG_LEVEL_NOTICE] = 5,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_DEBUG] = 7,
};

void
log_register_flag(struct log_flag *flag)
{
	struct log_flag **pp;
	int cmp;

	pthread_mutex_lock(&g_log_flag_lock);
	for (pp = &g_log_flags; *pp != NULL; pp = &(*pp)->next) {
		cmp = strcmp((*pp)->name, flag->name);
		if (cmp == 0) {
			if (*pp == flag) {
				pthread_mutex_unlock(&g_log_flag_lock);
				return;
			}
			/* Two components with one name: a build error in disguise. */
			fprintf(stderr, "log: duplicate log component '%s'\n", flag->name);
			abort();
		}
		if (cmp > 0) {
			break;
		}
	}
	flag->next = *pp;
	*pp = flag;
	pthread_mutex_unlock(&g_log_flag_lock);
}

/*
 * systemd sets JOURNAL_STREAM=dev:ino of the stream it connected; it only
 * applies while stderr is still that stream (not after a redirect).
 */
static bool
log_detect_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || env[0] == '\0') {
		return false;
	}
	if (sscanf(env, "%llu:%llu", &dev, &ino) != 2) {
		return false;
	}
	if (fstat(STDERR_FILENO, &st) != 0) {
		return false;
	}
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static bool
log_is_journal(void)
{
	int j = __atomic_load_n(&g_log_journal, __ATOMIC_RELAXED);

	if (j < 0) {
		j = log_detect_journal() ? 1 : 0;
		__atomic_store_n(&g_log_journal, j, __ATOMIC_RELAXED);
	}
	return j == 1;
}

void
log_set_journal(bool journal)
{
	__atomic_store_n(&g_log_journal, journal ? 1 : 0, __ATOMIC_RELAXED);
}

static const char *
log_basename(const char *file)
{
	const char *s = strrchr(file, '/');

	return s != NULL ? s + 1 : file;
}

void
log_vwrite(enum log_level level, const char *file, int line, const char *func, const char *fmt,
	   va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t off = 0;
	ssize_t rc;
	int n;

	if ((int)level < 0 || level > LOG_LEVEL_DEBUG) {
		level = LOG_LEVEL_ERROR;
	}
	if (level > log_get_level()) {
		return;
	}
	if (file == NULL) {
		file = "?";
	}
	if (func == NULL) {
		func = "?";
	}

	if (log_is_journal()) {
		n = snprintf(buf, sizeof(buf), "<%d>%s:%d:%s: *%s*: ", g_level_prio[level],
			     log_basename(file), line, func, g_level_names[level]);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(buf, sizeof(buf),
			     "[%04d-%02d-%02d %02d:%02d:%02d.%06ld] %s:%d:%s: *%s*: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000, log_basename(file), line, func,
			     g_level_names[level]);
	}
	if (n < 0) {
		return;
	}
	off = VHD_MIN((size_t)n, sizeof(buf) - 2);

	n = vsnprintf(buf + off, sizeof(buf) - off, fmt, ap);
	if (n > 0) {
		off = VHD_MIN(off + (size_t)n, sizeof(buf) - 2);
	}
	/* Exactly one newline at the end, even for truncated lines. */
	if (off == 0 || buf[off - 1] != '\n') {
		buf[off++] = '\n';
	}
	buf[off] = '\0';

	do {
		rc = write(STDERR_FILENO, buf, off);
	} while (rc < 0 && errno == EINTR);
}

void
log_write(enum log_level level, const char *file, int line, const char *func, const char *fmt,
	  ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, file, line, func, fmt, ap);
	va_end(ap);
}

bool
log_ratelimit_pass(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_ms,
		   uint32_t *suppressed)
{
	uint64_t now_ms = util_now_us() / 1000;
	uint32_t supp = 0;
	bool pass;

	/* Racy per call site by design: a lost update only lets a line more or less through. */
	if (rl->window_start_ms == 0 || now_ms - rl->window_start_ms >= interval_ms) {
		supp = rl->suppressed;
		rl->window_start_ms = now_ms == 0 ? 1 : now_ms;
		rl->count = 0;
		rl->suppressed = 0;
	}
	pass = rl->count < burst;
	if (pass) {
		rl->count++;
	} else {
		rl->suppressed++;
		supp = 0;
	}
	if (suppressed != NULL) {
		*suppressed = supp;
	}
	return pass;
}

void
log_set_level(enum log_level level)
{
	if ((int)level < 0) {
		level = LOG_LEVEL_ERROR;
	}
	if (level > LOG_LEVEL_DEBUG) {
		level = LOG_LEVEL_DEBUG;
	}
	__atomic_store_n(&g_log_level, level, __ATOMIC_RELAXED);
}

enum log_level
log_get_level(void)
{
	return __atomic_load_n(&g_log_level, __ATOMIC_RELAXED);
}

int
log_level_from_name(const char *name, enum log_level *level)
{
	size_t i;

	if (name == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < VHD_COUNTOF(g_level_names); i++) {
		if (strcasecmp(name, g_level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "WARN") == 0) {
		*level = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *
log_level_name(enum log_level level)
{
	if ((int)level < 0 || level > LOG_LEVEL_DEBUG) {
		return "UNKNOWN";
	}
	return g_level_names[level];
}

int
log_set_flag(const char *name, bool enabled)
{
	struct log_flag *f;
	bool all;
	int rc = -ENOENT;

	if (name == NULL) {
		return -EINVAL;
	}
	all = strcmp(name, "all") == 0;
	pthread_mutex_lock(&g_log_flag_lock);
	for (f = g_log_flags; f != NULL; f = f->next) {
		if (all || strcmp(f->name, name) == 0) {
			__atomic_store_n(&f->enabled, enabled, __ATOMIC_RELAXED);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&g_log_flag_lock);
	return all ? 0 : rc;
}

bool
log_get_flag(const char *name)
{
	struct log_flag *f;
	bool enabled = false;

	if (name == NULL) {
		return false;
	}
	pthread_mutex_lock(&g_log_flag_lock);
	for (f = g_log_flags; f != NULL; f = f->next) {
		if (strcmp(f->name, name) == 0) {
			enabled = __atomic_load_n(&f->enabled, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&g_log_flag_lock);
	return enabled;
}

struct log_flag *
log_flag_first(void)
{
	return g_log_flags;
}

struct log_flag *
log_flag_next(struct log_flag *flag)
{
	return flag != NULL ? flag->next : NULL;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging. Lines go to stderr; under systemd (JOURNAL_STREAM set) each line
 * carries a "<N>" syslog priority prefix and no timestamp, so journald files
 * it at the right level without duplicating the time.
 *
 * VHD_ERRLOG/WARNLOG/NOTICELOG/INFOLOG are filtered by the global level only.
 * VHD_DEBUGLOG(component, ...) prints only when the component's flag is set
 * (`-L thread`, log_set_flag RPC) and the level is DEBUG.
 * Thread-safe: any thread may log (one write(2) per line).
 */
#ifndef VHOSTD_LOG_H
#define VHOSTD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

struct log_flag {
	const char	*name;
	bool		enabled;
	struct log_flag	*next;
};

void log_register_flag(struct log_flag *flag);

/* Declare a debug component once, in one .c file: VHD_LOG_REGISTER_COMPONENT(vhost_blk) */
#define VHD_LOG_REGISTER_COMPONENT(name)                                                          \
	struct log_flag g_log_flag_##name = {#name, false, NULL};                                 \
	__attribute__((constructor)) static void log_register_flag_##name(void)                   \
	{                                                                                         \
		log_register_flag(&g_log_flag_##name);                                            \
	}

/* Use a component declared elsewhere. */
#define VHD_LOG_DECLARE_COMPONENT(name) extern struct log_flag g_log_flag_##name

void log_write(enum log_level level, const char *file, int line, const char *func,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void log_vwrite(enum log_level level, const char *file, int line, const char *func,
		const char *fmt, va_list ap);

#define VHD_ERRLOG(...) log_write(LOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VHD_WARNLOG(...) log_write(LOG_LEVEL_WARN, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VHD_NOTICELOG(...) log_write(LOG_LEVEL_NOTICE, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VHD_INFOLOG(...) log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VHD_DEBUGLOG(component, ...)                                                              \
	do {                                                                                      \
		extern struct log_flag g_log_flag_##component;                                    \
		if (g_log_flag_##component.enabled) {                                             \
			log_write(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__);    \
		}                                                                                 \
	} while (0)

/*
 * Rate-limited logging for the I/O path and guest-triggered errors: at most
 * `burst` lines per `interval_ms` per call site; the number suppressed is
 * reported with the next line that passes.
 */
struct log_ratelimit {
	uint64_t	window_start_ms;
	uint32_t	count;
	uint32_t	suppressed;
};
bool log_ratelimit_pass(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_ms,
			uint32_t *suppressed);

/* LOG is VHD_ERRLOG, VHD_WARNLOG or VHD_NOTICELOG; use the wrappers below. */
#define VHD_LOG_RATELIMIT(LOG, ...)                                                               \
	do {                                                                                      \
		static struct log_ratelimit _rl;                                                  \
		uint32_t _supp;                                                                   \
		if (log_ratelimit_pass(&_rl, 10, 1000, &_supp)) {                                 \
			if (_supp) {                                                              \
				LOG("(%u similar messages suppressed)\n", _supp);                 \
			}                                                                         \
			LOG(__VA_ARGS__);                                                         \
		}                                                                                 \
	} while (0)
#define VHD_ERRLOG_RATELIMIT(...)	VHD_LOG_RATELIMIT(VHD_ERRLOG, __VA_ARGS__)
#define VHD_WARNLOG_RATELIMIT(...)	VHD_LOG_RATELIMIT(VHD_WARNLOG, __VA_ARGS__)
#define VHD_NOTICELOG_RATELIMIT(...)	VHD_LOG_RATELIMIT(VHD_NOTICELOG, __VA_ARGS__)

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also sets print level for the console; names: "ERROR" "WARNING" "NOTICE" "INFO" "DEBUG". */
int log_level_from_name(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

/* 0, or -ENOENT for an unknown flag; "all" sets every flag. */
int log_set_flag(const char *name, bool enabled);
bool log_get_flag(const char *name);
/* Iterate registered flags (sorted by name). Returns NULL at end. */
struct log_flag *log_flag_first(void);
struct log_flag *log_flag_next(struct log_flag *flag);

/* Force or disable the journald format (default: from JOURNAL_STREAM). */
void log_set_journal(bool journal);

#endif /* VHOSTD_LOG_H */

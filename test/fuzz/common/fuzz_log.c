/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Link with -Wl,--wrap=log_write: the code under fuzz logs every hostile input
 * it rejects, which would bury libFuzzer's own output and slow it down. Logs
 * are dropped unless VHD_FUZZ_LOG is set in the environment.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "vhostd/log.h"

void __wrap_log_write(enum log_level level, const char *file, int line, const char *func,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

void
__wrap_log_write(enum log_level level, const char *file, int line, const char *func,
		 const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0) {
		enabled = getenv("VHD_FUZZ_LOG") != NULL;
	}
	if (!enabled) {
		return;
	}
	va_start(ap, fmt);
	log_vwrite(level, file, line, func, fmt, ap);
	va_end(ap);
}

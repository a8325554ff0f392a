/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake reactor for unit tests: lightweight threads polled by hand and a
 * fake clock. Include it from the one .c file of a unit test (the state below
 * is static) and link the test with `thread util`: either
 * `#include "../../common/ut_thread.h"` (relative) or `<test>_CFLAGS := -Itest/unit`
 * and `#include "common/ut_thread.h"`.
 *
 * Nothing runs on its own: messages, pollers and fd handlers run only inside
 * ut_poll_threads()/ut_poll_thread(). Timed pollers run when a poll finds the
 * fake clock at or past their expiry.
 *
 *   ut_threads_init(3);           // lib + threads 0..2, thread 0 = app thread,
 *                                 // current thread = 0, fake clock = 0 us
 *   ut_set_thread(1);             // code below runs "on" thread 1
 *   io_channel_get(dev);          //   (poller_register, io_channel_get, ...)
 *   ut_set_thread(0);
 *   thread_send_msg(ut_thread(2), fn, ctx);
 *   ut_poll_threads();            // poll all threads until none has work
 *   ut_advance_time_us(1000);     // move the clock (does not poll)
 *   ut_poll_threads();            // timed pollers due by now run here
 *   ut_threads_fini();            // exit + destroy all, thread_lib_fini()
 *
 * Time only moves when the test moves it; ut_poll_threads() never advances it.
 */
#ifndef VHOSTD_UT_THREAD_H
#define VHOSTD_UT_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vhostd/thread.h"

#define UT_MAX_THREADS 16
/* ut_poll_threads() gives up (and aborts the test) after this many rounds. */
#define UT_POLL_MAX_ROUNDS 1000000

static uint64_t g_ut_now_us;
static struct thread *g_ut_threads[UT_MAX_THREADS];
static uint32_t g_ut_nthreads;

static inline uint64_t
ut_clock_now_us(void)
{
	return g_ut_now_us;
}

/* Set the fake clock to `us` (microseconds). */
static inline void
ut_set_time_us(uint64_t us)
{
	g_ut_now_us = us;
}

/* Move the fake clock forward by `us`; poll with ut_poll_threads() afterwards. */
static inline void
ut_advance_time_us(uint64_t us)
{
	g_ut_now_us += us;
}

static inline uint64_t
ut_get_time_us(void)
{
	return g_ut_now_us;
}

/* Thread number i created by ut_threads_init(). */
static inline struct thread *
ut_thread(uint32_t i)
{
	return i < g_ut_nthreads ? g_ut_threads[i] : NULL;
}

/* Make thread i the current thread (what thread_get_current() returns). */
static inline void
ut_set_thread(uint32_t i)
{
	thread_set_current(ut_thread(i));
}

/*
 * thread_lib_init() with the fake clock at 0 and `n` threads named ut0..ut<n-1>;
 * ut0 is the app thread and becomes the current thread. Aborts on failure.
 */
static inline void
ut_threads_init(uint32_t n)
{
	char name[16];
	uint32_t i;

	if (n == 0 || n > UT_MAX_THREADS || thread_lib_init() != 0) {
		fprintf(stderr, "ut_threads_init(%u) failed\n", n);
		abort();
	}
	g_ut_now_us = 0;
	thread_lib_set_clock(ut_clock_now_us);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "ut%u", i);
		g_ut_threads[i] = thread_create(name, NULL);
		if (g_ut_threads[i] == NULL) {
			fprintf(stderr, "ut_threads_init: thread_create failed\n");
			abort();
		}
	}
	g_ut_nthreads = n;
	ut_set_thread(0);
}

struct ut_thread_list_ {
	struct thread	*t[256];
	size_t		n;
};

static void
ut_poll_collect_(struct thread *t, void *ctx)
{
	struct ut_thread_list_ *l = ctx;

	if (l->n < 256) {
		l->t[l->n++] = t;
	}
}

/*
 * Poll every live thread (also ones created by the code under test) until a
 * whole round finds no work: no message, no busy poller, no due timer.
 * Returns the number of rounds that did work. The current thread is restored.
 */
static inline int
ut_poll_threads(void)
{
	struct ut_thread_list_ l;
	struct thread *saved = thread_get_current();
	int rounds = 0;
	bool busy;
	size_t i;

	do {
		l.n = 0;
		thread_iterate(ut_poll_collect_, &l);
		busy = false;
		/* Poll outside thread_iterate(): pollers may create threads. */
		for (i = 0; i < l.n; i++) {
			if (thread_is_exited(l.t[i])) {
				continue;
			}
			if (thread_poll(l.t[i], 0) == POLLER_BUSY) {
				busy = true;
			}
		}
		if (busy && ++rounds > UT_POLL_MAX_ROUNDS) {
			fprintf(stderr, "ut_poll_threads: a poller never goes idle\n");
			abort();
		}
	} while (busy);
	thread_set_current(saved);
	return rounds;
}

/* One thread_poll() on thread i; returns POLLER_BUSY or POLLER_IDLE. */
static inline int
ut_poll_thread(uint32_t i)
{
	struct thread *saved = thread_get_current();
	int rc = thread_poll(ut_thread(i), 0);

	thread_set_current(saved);
	return rc;
}

/*
 * Exit every ut thread (they must have released their pollers, interrupts and
 * channels by then), poll until they are exited, destroy them and
 * thread_lib_fini(). Restores the real clock.
 */
static inline void
ut_threads_fini(void)
{
	uint32_t i;

	ut_poll_threads();
	for (i = 0; i < g_ut_nthreads; i++) {
		if (g_ut_threads[i] != NULL && !thread_is_exited(g_ut_threads[i])) {
			thread_set_current(g_ut_threads[i]);
			thread_exit(g_ut_threads[i]);
		}
	}
	thread_set_current(NULL);
	ut_poll_threads();
	for (i = 0; i < g_ut_nthreads; i++) {
		if (g_ut_threads[i] != NULL && thread_is_exited(g_ut_threads[i])) {
			thread_destroy(g_ut_threads[i]);
		}
		g_ut_threads[i] = NULL;
	}
	g_ut_nthreads = 0;
	thread_lib_fini();
	thread_lib_set_clock(NULL);
}

#endif /* VHOSTD_UT_THREAD_H */

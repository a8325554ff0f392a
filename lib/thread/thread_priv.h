/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared between thread.c and reactor.c only. */
#ifndef VHOSTD_THREAD_PRIV_H
#define VHOSTD_THREAD_PRIV_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include "vhostd/thread.h"

#include "thread_internal.h"

#define THREAD_NAME_MAX 64

/* glibc's sys/queue.h lacks the _SAFE variants. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                                \
	for ((var) = TAILQ_FIRST((head)); (var) && ((tvar) = TAILQ_NEXT((var), field), 1);       \
	     (var) = (tvar))
#endif

enum thread_state {
	THREAD_STATE_RUNNING = 0,
	THREAD_STATE_EXITING,
	THREAD_STATE_EXITED,
};

enum poller_state {
	POLLER_STATE_RUNNING = 0,
	POLLER_STATE_PAUSING,		/* moved to the paused list at the next sweep */
	POLLER_STATE_PAUSED,
	POLLER_STATE_UNREGISTERED,	/* freed at the next sweep (or after its run) */
};

enum poller_list_id {
	POLLER_LIST_NONE = 0,
	POLLER_LIST_ACTIVE,
	POLLER_LIST_TIMED,
	POLLER_LIST_PAUSED,
};

struct poller {
	TAILQ_ENTRY(poller)	link;
	struct thread		*thread;
	poller_fn		fn;
	void			*ctx;
	poller_sleep_cb		sleep_cb;
	uint64_t		period_us;
	uint64_t		next_run_us;
	enum poller_state	state;
	enum poller_list_id	list;
	uint64_t		runs;
	char			name[THREAD_NAME_MAX];
};
TAILQ_HEAD(poller_list, poller);

struct thread_interrupt {
	TAILQ_ENTRY(thread_interrupt)	link;
	struct thread			*thread;
	int				fd;
	thread_interrupt_fn		fn;
	void				*ctx;
	bool				dead;
	char				name[THREAD_NAME_MAX];
};

struct thread_msg_cell {
	size_t		seq;
	thread_msg_fn	fn;
	void		*ctx;
};

struct reactor;

struct thread_overflow_msg {
	struct thread_overflow_msg	*next;
	thread_msg_fn			fn;
	void				*ctx;
};

struct thread {
	/* Producers (any pthread) and the consumer on separate cache lines. */
	size_t			enq_pos __attribute__((aligned(64)));
	size_t			deq_pos __attribute__((aligned(64)));
	struct thread_msg_cell	*ring;
	size_t			ring_mask;
	/* Control-path messages that found the ring full (thread_send_msg_nofail). */
	pthread_mutex_t		overflow_lock;
	struct thread_overflow_msg *overflow_head;
	struct thread_overflow_msg **overflow_tail;
	int			has_overflow;

	uint64_t		id;
	char			name[THREAD_NAME_MAX];
	struct cpuset		cpumask;
	struct reactor		*reactor;	/* NULL: polled by hand */
	uint32_t		lcore;
	enum thread_state	state;

	struct poller_list	active;
	struct poller_list	timed;		/* ordered by next_run_us */
	struct poller_list	paused;
	uint32_t		nactive;
	uint32_t		ntimed;
	uint32_t		npaused;
	uint32_t		poller_count;	/* every poller not yet freed */
	bool			need_sweep;

	TAILQ_HEAD(, thread_interrupt) intrs;
	uint32_t		intr_count;	/* registered (not dead) */
	bool			intr_dead;
	int			epfd;		/* this thread's interrupt fds */

	TAILQ_HEAD(, io_channel) channels;

	uint64_t		busy_ticks;
	uint64_t		idle_ticks;
	uint64_t		poller_runs;
	uint64_t		msgs_run;

	TAILQ_ENTRY(thread)	glink;		/* global list */
	TAILQ_ENTRY(thread)	rlink;		/* reactor's list or its pending list */
};

extern pthread_mutex_t g_thread_lock;

static inline enum thread_state
thread_state(const struct thread *t)
{
	return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
}

uint64_t thread_clock_us(void);
/* thread_poll() taking the start time in *ticks and returning the end time there. */
int thread_poll_ticks(struct thread *t, uint32_t max_msgs, uint64_t *ticks);
/*
 * Run the thread's ready fd handlers (epoll_wait 0). POLLER_BUSY if any did
 * work. `ready`: the caller saw the thread's epoll fd ready, so a thread with
 * a single fd runs its handler without the epoll_wait(). With `ticks` (the
 * reactor's dispatch): the handlers' time from *ticks to now counts as the
 * thread's busy/idle time and *ticks becomes now, so a reactor chains one
 * clock read per thread, as thread_poll_ticks does. NULL: not counted (a
 * hand-polled thread runs them inside thread_poll).
 */
int thread_run_interrupts(struct thread *t, bool ready, uint64_t *ticks);
/* Call the sleep_cbs; false if one of them cancels the sleep. */
bool thread_sleep_check(struct thread *t);
/* Expiry of the earliest running timed poller. */
bool thread_next_timer_us(struct thread *t, uint64_t *next_us);
/* Unlink from the global list and free. */
void thread_release(struct thread *t);

/* reactor.c */
int reactor_place_thread(struct thread *t, const struct cpuset *mask);
void reactor_add_thread(struct thread *t);
/* A message was queued for a thread of `r` (NULL: hand-polled thread). */
void reactor_notify_msg(struct reactor *r);

#endif /* VHOSTD_THREAD_PRIV_H */

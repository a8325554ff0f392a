/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reactors: one pinned pthread per cpu of the mask, each running the
 * lightweight threads placed on it.
 *
 * Sleeping (interrupt and adaptive modes) without losing a wake-up:
 *   reactor: sleeping = 1; full fence; recheck every thread's queue, the
 *            pending-thread list and the sleep_cbs; epoll_wait(-1).
 *   sender:  enqueue; full fence; if (sleeping) write the reactor's eventfd.
 * Either the reactor sees the message in its recheck or the sender sees the
 * flag (Dekker); a spurious eventfd write only costs one empty wake-up.
 *
 * fds: each reactor has one epoll fd holding its eventfd (messages, new
 * threads, stop), a timerfd armed for the earliest timed poller before it
 * sleeps, and every thread's own epoll fd (which holds that thread's
 * thread_interrupt_register() fds), so a ready interrupt wakes the reactor
 * and is then dispatched on its owning thread. One eventfd per reactor (not
 * per thread) suffices because a reactor wakes for all of its threads at once.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "thread_priv.h"

#define REACTOR_EPOLL_BATCH 64

struct reactor {
	/* Read by senders on every message: keep it off the reactor's hot lines. */
	int			sleeping __attribute__((aligned(64)));
	int			evfd;

	uint32_t		idx;
	uint32_t		lcore;
	pthread_t		pthread;
	bool			pthread_started;
	int			tid;
	int			epfd;
	int			tfd;
	bool			timer_armed;
	uint64_t		timer_at_us;	/* deadline the timerfd is armed for */

	TAILQ_HEAD(, thread)	threads;	/* touched by the reactor; changes under lock */
	uint32_t		nthreads;	/* placed here, including pending */
	pthread_mutex_t		lock;
	TAILQ_HEAD(, thread)	pending;	/* created, not yet adopted */
	int			has_pending;

	uint64_t		busy_ticks;
	uint64_t		idle_ticks;
	uint64_t		sleeps;
	bool			in_interrupt;
};

static struct reactor *g_reactors;
static uint32_t g_reactor_count;
static enum reactor_mode g_reactor_mode = REACTOR_MODE_ADAPTIVE;
static struct cpuset g_reactor_mask;
static int g_reactors_stop;
static bool g_reactors_running;

static const char *const g_mode_names[] = {
	[REACTOR_MODE_POLL] = "poll",
	[REACTOR_MODE_INTERRUPT] = "interrupt",
	[REACTOR_MODE_ADAPTIVE] = "adaptive",
};

static void
reactor_kick(struct reactor *r)
{
	uint64_t one = 1;
	ssize_t rc;

	do {
		rc = write(r->evfd, &one, sizeof(one));
	} while (rc < 0 && errno == EINTR);
}

/* ---- hooks called by thread.c ------------------------------------------------------ */

int
reactor_place_thread(struct thread *t, const struct cpuset *mask)
{
	struct reactor *r, *best = NULL;
	uint32_t i, n, best_n = 0;

	if (g_reactor_count == 0) {
		t->reactor = NULL;
		t->lcore = 0;
		if (mask != NULL) {
			t->cpumask = *mask;
		} else {
			cpuset_zero(&t->cpumask);
			cpuset_set_cpu(&t->cpumask, 0, true);
		}
		return 0;
	}
	for (i = 0; i < g_reactor_count; i++) {
		r = &g_reactors[i];
		if (mask != NULL && !cpuset_get_cpu(mask, r->lcore)) {
			continue;
		}
		n = __atomic_load_n(&r->nthreads, __ATOMIC_RELAXED);
		if (best == NULL || n < best_n) {
			best = r;
			best_n = n;
		}
	}
	if (best == NULL) {
		char buf[300];

		VHD_ERRLOG("thread %s: cpumask %s has no reactor\n", t->name,
			   cpuset_fmt_hex(mask, buf, sizeof(buf)));
		return -EINVAL;
	}
	__atomic_fetch_add(&best->nthreads, 1, __ATOMIC_RELAXED);
	t->reactor = best;
	t->lcore = best->lcore;
	t->cpumask = mask != NULL ? *mask : g_reactor_mask;
	cpuset_and(&t->cpumask, &g_reactor_mask);
	return 0;
}

void
reactor_add_thread(struct thread *t)
{
	struct reactor *r = t->reactor;

	if (r == NULL) {
		return;
	}
	pthread_mutex_lock(&r->lock);
	TAILQ_INSERT_TAIL(&r->pending, t, rlink);
	__atomic_store_n(&r->has_pending, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&r->lock);
	reactor_kick(r);
}

void
reactor_notify_msg(struct reactor *r)
{
	if (r == NULL) {
		return;
	}
	/* Pairs with the fence in reactor_sleep(): see the top of this file. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->sleeping, __ATOMIC_RELAXED)) {
		reactor_kick(r);
	}
}

/* ---- the loop ------------------------------------------------------------------------ */

static void
reactor_adopt_threads(struct reactor *r)
{
	struct epoll_event ev;
	struct thread *t;

	pthread_mutex_lock(&r->lock);
	__atomic_store_n(&r->has_pending, 0, __ATOMIC_RELAXED);
	while ((t = TAILQ_FIRST(&r->pending)) != NULL) {
		TAILQ_REMOVE(&r->pending, t, rlink);
		TAILQ_INSERT_TAIL(&r->threads, t, rlink);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = t;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, t->epfd, &ev) != 0) {
			VHD_ERRLOG("reactor %u: cannot watch thread %s: %s\n", r->lcore, t->name,
				   strerror(errno));
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void
reactor_destroy_thread(struct reactor *r, struct thread *t)
{
	pthread_mutex_lock(&r->lock);
	TAILQ_REMOVE(&r->threads, t, rlink);
	pthread_mutex_unlock(&r->lock);
	__atomic_fetch_sub(&r->nthreads, 1, __ATOMIC_RELAXED);
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, t->epfd, NULL);
	thread_release(t);
}

/* Run what epoll found; *ticks: when it started on entry, when it ended on return. */
static int
reactor_dispatch(struct reactor *r, struct epoll_event *ev, int n, uint64_t *ticks)
{
	int i, rc = POLLER_IDLE;
	uint64_t v;

	for (i = 0; i < n; i++) {
		if (ev[i].data.ptr == &r->evfd) {
			thread_eventfd_drain(r->evfd);
		} else if (ev[i].data.ptr == &r->tfd) {
			if (read(r->tfd, &v, sizeof(v)) < 0) {
				/* EAGAIN: already drained. */
			}
			/* One-shot: it fired, so it is disarmed. */
			r->timer_armed = false;
		} else if (thread_run_interrupts(ev[i].data.ptr, true, ticks) == POLLER_BUSY) {
			rc = POLLER_BUSY;
		}
	}
	return rc;
}

static void
reactor_arm_timer(struct reactor *r, bool arm, uint64_t at_us, uint64_t delta_us)
{
	struct itimerspec its;

	if (!arm && !r->timer_armed) {
		return;
	}
	/*
	 * Still armed for the same deadline and not fired yet (a fired timer
	 * is drained by reactor_dispatch(), which clears timer_armed): leave
	 * it, so that sleeping between sparse requests costs no syscall here.
	 */
	if (arm && r->timer_armed && r->timer_at_us == at_us) {
		return;
	}
	memset(&its, 0, sizeof(its));
	if (arm) {
		its.it_value.tv_sec = (time_t)(delta_us / 1000000);
		its.it_value.tv_nsec = (long)(delta_us % 1000000) * 1000;
		if (delta_us == 0) {
			its.it_value.tv_nsec = 1;
		}
	}
	if (timerfd_settime(r->tfd, 0, &its, NULL) != 0) {
		VHD_ERRLOG("reactor %u: timerfd_settime: %s\n", r->lcore, strerror(errno));
	}
	r->timer_armed = arm;
	r->timer_at_us = at_us;
}

/* Time the reactor spent working (busy) or looking for work (idle); asleep is neither. */
static void
reactor_account(struct reactor *r, bool busy, uint64_t ticks)
{
	if (busy) {
		__atomic_store_n(&r->busy_ticks, r->busy_ticks + ticks, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&r->idle_ticks, r->idle_ticks + ticks, __ATOMIC_RELAXED);
	}
}

/*
 * Returns -1 if the sleep was cancelled, else POLLER_BUSY/IDLE of what woke it;
 * *woke is when epoll_wait returned and *done when the handlers it ran ended.
 */
static int
reactor_sleep(struct reactor *r, uint64_t *woke, uint64_t *done)
{
	struct epoll_event ev[REACTOR_EPOLL_BATCH];
	uint64_t next = UINT64_MAX, nt, now_us;
	struct thread *t;
	int n;

	__atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g_reactors_stop, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&r->has_pending, __ATOMIC_RELAXED)) {
		goto cancel;
	}
	TAILQ_FOREACH(t, &r->threads, rlink) {
		if (thread_has_msgs(t)) {
			goto cancel;
		}
	}
	TAILQ_FOREACH(t, &r->threads, rlink) {
		if (!thread_sleep_check(t)) {
			goto cancel;
		}
		if (thread_next_timer_us(t, &nt) && nt < next) {
			next = nt;
		}
	}
	if (next != UINT64_MAX) {
		now_us = thread_clock_us();
		if (next <= now_us) {
			goto cancel;
		}
		reactor_arm_timer(r, true, next, next - now_us);
	} else {
		reactor_arm_timer(r, false, 0, 0);
	}

	__atomic_store_n(&r->in_interrupt, true, __ATOMIC_RELAXED);
	__atomic_store_n(&r->sleeps, r->sleeps + 1, __ATOMIC_RELAXED);
	n = epoll_wait(r->epfd, ev, REACTOR_EPOLL_BATCH, -1);
	*woke = *done = util_get_ticks();
	__atomic_store_n(&r->in_interrupt, false, __ATOMIC_RELAXED);
	__atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
	if (n <= 0) {
		return POLLER_IDLE;
	}
	return reactor_dispatch(r, ev, n, done);

cancel:
	__atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
	return -1;
}

/*
 * After stop: threads that were asked to exit (typically the app thread,
 * which exits and stops the reactors in one go) get up to
 * REACTOR_EXIT_DRAIN_US more iterations to finish, so they are destroyed
 * here instead of being reported as leftovers by thread_lib_fini().
 */
#define REACTOR_EXIT_DRAIN_US 100000

static void
reactor_finish_exiting(struct reactor *r)
{
	uint64_t end = util_get_ticks() + REACTOR_EXIT_DRAIN_US * 1000ull, now;
	struct thread *t, *tmp;
	bool any;

	do {
		any = false;
		now = util_get_ticks();
		TAILQ_FOREACH_SAFE(t, &r->threads, rlink, tmp) {
			if (thread_state(t) == THREAD_STATE_RUNNING) {
				continue;
			}
			thread_poll_ticks(t, 0, &now);
			if (thread_is_exited(t)) {
				reactor_destroy_thread(r, t);
			} else {
				any = true;
			}
		}
	} while (any && now < end);
}

/*
 * Adaptive mode: how long to keep polling after the last busy iteration. The
 * reactor keeps a moving average of the idle gaps that end in work (from the
 * end of one burst of busy iterations to the start of the next, sleeps
 * included). Dense work (gaps below THREAD_ADAPTIVE_SPARSE_US: back-to-back
 * requests, a queue-depth-1 client waiting for each completion) keeps polling
 * THREAD_ADAPTIVE_IDLE_US, so latency is the poll-mode latency; sparse work (a
 * fixed low rate, a slow disk) sleeps as soon as it is idle, because one
 * wake-up costs less CPU than polling through the gap.
 */
static uint64_t
reactor_adaptive_spell(uint64_t gap_avg, uint64_t idle_ticks, uint64_t sparse_ticks)
{
	return gap_avg > sparse_ticks ? 0 : idle_ticks;
}

static uint64_t
reactor_gap_update(uint64_t gap_avg, uint64_t gap, uint64_t cap)
{
	/* A capped sample: one long sleep must not outweigh many short gaps. */
	gap = VHD_MIN(gap, cap);
	return gap_avg - gap_avg / THREAD_ADAPTIVE_GAP_WEIGHT + gap / THREAD_ADAPTIVE_GAP_WEIGHT;
}

static void
reactor_run(struct reactor *r)
{
	struct epoll_event ev[REACTOR_EPOLL_BATCH];
	uint64_t now, last, last_busy, last_fd, woke = 0, gap_avg = 0;
	const uint64_t tpu = util_get_ticks_hz() / 1000000;
	const uint64_t fd_check_ticks = THREAD_FD_CHECK_US * tpu;
	const uint64_t idle_ticks = THREAD_ADAPTIVE_IDLE_US * tpu;
	const uint64_t sparse_ticks = THREAD_ADAPTIVE_SPARSE_US * tpu;
	const uint64_t gap_cap = THREAD_ADAPTIVE_GAP_CAP_US * tpu;
	struct thread *t, *tmp;
	bool busy, was_busy = false;
	int n, rc;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELAXED);
	last = last_busy = last_fd = util_get_ticks();
	while (!__atomic_load_n(&g_reactors_stop, __ATOMIC_RELAXED)) {
		if (__atomic_load_n(&r->has_pending, __ATOMIC_RELAXED)) {
			reactor_adopt_threads(r);
		}
		busy = false;
		now = last;
		TAILQ_FOREACH_SAFE(t, &r->threads, rlink, tmp) {
			if (thread_poll_ticks(t, 0, &now) == POLLER_BUSY) {
				busy = true;
			}
			if (thread_is_exited(t)) {
				reactor_destroy_thread(r, t);
			}
		}
		if (TAILQ_EMPTY(&r->threads)) {
			now = util_get_ticks();
		}
		if (now - last_fd >= fd_check_ticks) {
			last_fd = now;
			n = epoll_wait(r->epfd, ev, REACTOR_EPOLL_BATCH, 0);
			/* The handlers' time is this iteration's, not the next thread's. */
			if (n > 0 && reactor_dispatch(r, ev, n, &now) == POLLER_BUSY) {
				busy = true;
			}
		}
		reactor_account(r, busy, now - last);
		if (busy) {
			/*
			 * The idle gap ended when this iteration started (`last`). A run
			 * of busy iterations is one burst of work (a request is popped,
			 * submitted, then completed by a message a few iterations
			 * later): only the gap before the burst counts, or the zero
			 * gaps inside it would make sparse requests look dense.
			 */
			if (!was_busy) {
				gap_avg = reactor_gap_update(gap_avg, last - last_busy, gap_cap);
			}
			last_busy = now;
		}
		was_busy = busy;
		last = now;
		if (busy || g_reactor_mode == REACTOR_MODE_POLL) {
			continue;
		}
		if (g_reactor_mode == REACTOR_MODE_ADAPTIVE &&
		    now - last_busy < reactor_adaptive_spell(gap_avg, idle_ticks, sparse_ticks)) {
			continue;
		}
		rc = reactor_sleep(r, &woke, &last);
		if (rc >= 0) {
			/* Time asleep is neither busy nor idle; the handlers' time after it is. */
			last_fd = last;
			reactor_account(r, rc == POLLER_BUSY, last - woke);
			if (rc == POLLER_BUSY) {
				gap_avg = reactor_gap_update(gap_avg, last - last_busy, gap_cap);
				last_busy = last;
				was_busy = true;
			}
		}
	}
	reactor_finish_exiting(r);
}

static void
reactor_pin(struct reactor *r)
{
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(r->lcore, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0) {
		VHD_WARNLOG("reactor %u: cannot pin to cpu %u: %s\n", r->idx, r->lcore,
			    strerror(rc));
	}
}

static void *
reactor_main(void *arg)
{
	struct reactor *r = arg;
	char name[16];

	snprintf(name, sizeof(name), "reactor_%u", r->lcore);
	pthread_setname_np(pthread_self(), name);
	reactor_pin(r);
	reactor_run(r);
	return NULL;
}

/* ---- public --------------------------------------------------------------------------- */

static void
reactor_close(struct reactor *r)
{
	if (r->epfd >= 0) {
		close(r->epfd);
		r->epfd = -1;
	}
	if (r->evfd >= 0) {
		close(r->evfd);
		r->evfd = -1;
	}
	if (r->tfd >= 0) {
		close(r->tfd);
		r->tfd = -1;
	}
	pthread_mutex_destroy(&r->lock);
}

static int
reactor_open(struct reactor *r, uint32_t idx, uint32_t lcore)
{
	struct epoll_event ev;
	int rc;

	r->idx = idx;
	r->lcore = lcore;
	r->epfd = r->evfd = r->tfd = -1;
	TAILQ_INIT(&r->threads);
	TAILQ_INIT(&r->pending);
	pthread_mutex_init(&r->lock, NULL);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->epfd < 0 || r->evfd < 0 || r->tfd < 0) {
		rc = -errno;
		goto err;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &r->evfd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &ev) != 0) {
		rc = -errno;
		goto err;
	}
	ev.data.ptr = &r->tfd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->tfd, &ev) != 0) {
		rc = -errno;
		goto err;
	}
	return 0;
err:
	VHD_ERRLOG("reactor %u: cannot create its fds: %s\n", lcore, strerror(-rc));
	reactor_close(r);
	return rc;
}

int
reactors_init(const struct cpuset *mask, enum reactor_mode mode)
{
	cpu_set_t allowed;
	uint32_t count, i = 0;
	int cpu, rc;

	if (g_reactors != NULL) {
		VHD_ERRLOG("reactors already initialised\n");
		return -EBUSY;
	}
	if (mask == NULL || (int)mode < 0 || mode > REACTOR_MODE_ADAPTIVE) {
		return -EINVAL;
	}
	count = cpuset_count(mask);
	if (count == 0) {
		VHD_ERRLOG("reactor cpumask is empty\n");
		return -EINVAL;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		rc = -errno;
		VHD_ERRLOG("sched_getaffinity: %s\n", strerror(-rc));
		return rc;
	}
	for (cpu = cpuset_next(mask, 0); cpu >= 0; cpu = cpuset_next(mask, cpu + 1)) {
		if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
			VHD_ERRLOG("cpu %d is not available to this process\n", cpu);
			return -EINVAL;
		}
	}
	g_reactors = calloc(count, sizeof(*g_reactors));
	if (g_reactors == NULL) {
		return -ENOMEM;
	}
	for (cpu = cpuset_next(mask, 0); cpu >= 0; cpu = cpuset_next(mask, cpu + 1)) {
		rc = reactor_open(&g_reactors[i], i, (uint32_t)cpu);
		if (rc != 0) {
			while (i > 0) {
				reactor_close(&g_reactors[--i]);
			}
			free(g_reactors);
			g_reactors = NULL;
			return rc;
		}
		i++;
	}
	g_reactor_count = count;
	g_reactor_mode = mode;
	g_reactor_mask = *mask;
	__atomic_store_n(&g_reactors_stop, 0, __ATOMIC_RELAXED);
	return 0;
}

void
reactors_start(void)
{
	cpu_set_t saved;
	bool have_saved;
	uint32_t i;
	int rc;

	if (g_reactors == NULL || g_reactors_running) {
		VHD_ERRLOG("reactors_start: not initialised or already running\n");
		return;
	}
	g_reactors_running = true;
	have_saved = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	for (i = 1; i < g_reactor_count; i++) {
		rc = pthread_create(&g_reactors[i].pthread, NULL, reactor_main, &g_reactors[i]);
		if (rc != 0) {
			VHD_ERRLOG("reactor %u: pthread_create: %s\n", g_reactors[i].lcore,
				   strerror(rc));
			reactors_stop();
			break;
		}
		g_reactors[i].pthread_started = true;
	}
	reactor_pin(&g_reactors[0]);
	reactor_run(&g_reactors[0]);
	for (i = 1; i < g_reactor_count; i++) {
		if (g_reactors[i].pthread_started) {
			pthread_join(g_reactors[i].pthread, NULL);
			g_reactors[i].pthread_started = false;
		}
	}
	/* Give the caller its pthread back as it was (tests start reactors repeatedly). */
	if (have_saved) {
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	}
	thread_set_current(NULL);
	g_reactors_running = false;
}

void
reactors_stop(void)
{
	uint32_t i;

	__atomic_store_n(&g_reactors_stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < g_reactor_count; i++) {
		reactor_kick(&g_reactors[i]);
	}
}

void
reactors_fini(void)
{
	struct reactor *r;
	struct thread *t;
	uint32_t i;

	if (g_reactors == NULL) {
		return;
	}
	if (g_reactors_running) {
		VHD_ERRLOG("reactors_fini while running\n");
		return;
	}
	for (i = 0; i < g_reactor_count; i++) {
		r = &g_reactors[i];
		/* Threads left behind become hand-polled; thread_lib_fini() frees them. */
		while ((t = TAILQ_FIRST(&r->pending)) != NULL) {
			TAILQ_REMOVE(&r->pending, t, rlink);
			t->reactor = NULL;
		}
		while ((t = TAILQ_FIRST(&r->threads)) != NULL) {
			TAILQ_REMOVE(&r->threads, t, rlink);
			t->reactor = NULL;
		}
		reactor_close(r);
	}
	free(g_reactors);
	g_reactors = NULL;
	g_reactor_count = 0;
	cpuset_zero(&g_reactor_mask);
}

enum reactor_mode
reactors_get_mode(void)
{
	return g_reactor_mode;
}

int
reactor_mode_from_name(const char *name, enum reactor_mode *mode)
{
	size_t i;

	if (name == NULL || mode == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < VHD_COUNTOF(g_mode_names); i++) {
		if (strcasecmp(name, g_mode_names[i]) == 0) {
			*mode = (enum reactor_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
reactor_mode_name(enum reactor_mode mode)
{
	if ((int)mode < 0 || mode > REACTOR_MODE_ADAPTIVE) {
		return "unknown";
	}
	return g_mode_names[mode];
}

const struct cpuset *
reactors_get_cpumask(void)
{
	return &g_reactor_mask;
}

uint32_t
reactors_get_stats(struct reactor_stats *stats, uint32_t max)
{
	struct reactor *r;
	uint32_t i;

	for (i = 0; i < g_reactor_count && i < max; i++) {
		r = &g_reactors[i];
		stats[i].lcore = r->lcore;
		stats[i].tid = __atomic_load_n(&r->tid, __ATOMIC_RELAXED);
		stats[i].busy_ticks = __atomic_load_n(&r->busy_ticks, __ATOMIC_RELAXED);
		stats[i].idle_ticks = __atomic_load_n(&r->idle_ticks, __ATOMIC_RELAXED);
		stats[i].in_interrupt = __atomic_load_n(&r->in_interrupt, __ATOMIC_RELAXED);
		stats[i].sleeps = __atomic_load_n(&r->sleeps, __ATOMIC_RELAXED);
	}
	return i;
}

void
reactor_for_each_thread(uint32_t lcore, void (*fn)(struct thread *t, void *ctx), void *ctx)
{
	struct reactor *r;
	struct thread *t;
	uint32_t i;

	for (i = 0; i < g_reactor_count; i++) {
		r = &g_reactors[i];
		if (r->lcore != lcore) {
			continue;
		}
		pthread_mutex_lock(&r->lock);
		TAILQ_FOREACH(t, &r->threads, rlink) {
			fn(t, ctx);
		}
		TAILQ_FOREACH(t, &r->pending, rlink) {
			fn(t, ctx);
		}
		pthread_mutex_unlock(&r->lock);
	}
}

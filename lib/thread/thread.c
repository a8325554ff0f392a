/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lightweight threads, messages, pollers, interrupts and io_channels.
 * Reactors (the pthreads that run threads) live in reactor.c.
 *
 * Locking: g_thread_lock guards the global thread list, the io_device list, device
 * reference counts and every thread's channel list (the owner reads its own
 * list without it; every change holds it). Messages never take a lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "thread_priv.h"

VHD_LOG_REGISTER_COMPONENT(thread)

struct io_device {
	TAILQ_ENTRY(io_device)	link;
	void			*ptr;
	io_channel_create_cb	create_cb;
	io_channel_destroy_cb	destroy_cb;
	uint32_t		ctx_size;
	char			name[THREAD_NAME_MAX];
	bool			unregistered;
	io_device_unregister_cb	unregister_cb;
	struct thread		*unregister_thread;
	uint32_t		refcnt;		/* channels alive */
	uint32_t		iter_refs;	/* io_channel_for_each walks in flight */
	bool			releasing;
};

struct io_channel {
	TAILQ_ENTRY(io_channel)	link;
	struct thread		*thread;
	struct io_device	*dev;
	uint32_t		ref;
	bool			destroy_scheduled;
};

/* Channel contexts start on a cache line of their own. */
#define IO_CHANNEL_CTX_OFFSET VHD_ALIGN_UP(sizeof(struct io_channel), (size_t)64)

struct io_channel_iter {
	struct io_device	*dev;
	void			*io_device;
	io_channel_iter_fn	fn;
	void			*ctx;
	io_channel_iter_cpl	cpl;
	struct thread		*orig;
	struct thread		*cur;
	struct io_channel	*ch;
	int			status;
};

struct thread_for_each_ctx {
	thread_msg_fn	fn;
	void		*ctx;
	thread_msg_fn	cpl;
	struct thread	*orig;
	struct thread	*cur;
};

pthread_mutex_t g_thread_lock = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, thread) g_threads = TAILQ_HEAD_INITIALIZER(g_threads);
static TAILQ_HEAD(, io_device) g_io_devices = TAILQ_HEAD_INITIALIZER(g_io_devices);
static struct thread *g_app_thread;
static uint64_t g_next_thread_id = 1;
static uint64_t (*g_clock_us)(void) = util_now_us;
static __thread struct thread *tls_thread;

uint64_t
thread_clock_us(void)
{
	return g_clock_us();
}

/* ---- library ---------------------------------------------------------------------- */

int
thread_lib_init(void)
{
	return 0;
}

void
thread_lib_set_clock(uint64_t (*now_us)(void))
{
	g_clock_us = now_us != NULL ? now_us : util_now_us;
}

static void thread_free(struct thread *t);
static void thread_check_exit(struct thread *t);

void
thread_lib_fini(void)
{
	struct thread *t;

	for (;;) {
		pthread_mutex_lock(&g_thread_lock);
		t = TAILQ_FIRST(&g_threads);
		if (t != NULL) {
			TAILQ_REMOVE(&g_threads, t, glink);
		}
		pthread_mutex_unlock(&g_thread_lock);
		if (t == NULL) {
			break;
		}
		if (thread_state(t) != THREAD_STATE_EXITED) {
			struct poller *p;

			VHD_WARNLOG("thread %s destroyed before it exited (%s; %u pollers, %u "
				    "interrupts, %s channels, %s messages)\n", t->name,
				    thread_state(t) == THREAD_STATE_EXITING ? "exiting" : "running",
				    t->poller_count, t->intr_count,
				    TAILQ_EMPTY(&t->channels) ? "no" : "some",
				    thread_has_msgs(t) ? "queued" : "no");
			TAILQ_FOREACH(p, &t->active, link) {
				VHD_WARNLOG("thread %s: poller %s left\n", t->name, p->name);
			}
			TAILQ_FOREACH(p, &t->timed, link) {
				VHD_WARNLOG("thread %s: poller %s left\n", t->name, p->name);
			}
		}
		thread_free(t);
	}
	/* Devices left registered would make the next test's register of the same pointer fail. */
	for (;;) {
		struct io_device *dev;

		pthread_mutex_lock(&g_thread_lock);
		dev = TAILQ_FIRST(&g_io_devices);
		if (dev != NULL) {
			TAILQ_REMOVE(&g_io_devices, dev, link);
		}
		pthread_mutex_unlock(&g_thread_lock);
		if (dev == NULL) {
			break;
		}
		VHD_WARNLOG("io_device %s still registered at thread_lib_fini\n", dev->name);
		if (dev->refcnt == 0 && dev->iter_refs == 0) {
			free(dev);
		}
	}
	g_app_thread = NULL;
	tls_thread = NULL;
}

/* ---- message ring (Vyukov bounded queue, used as MPSC) ---------------------------- */

static int
msg_ring_init(struct thread *t)
{
	size_t i;

	t->ring = calloc(THREAD_MSG_RING_SIZE, sizeof(*t->ring));
	if (t->ring == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < THREAD_MSG_RING_SIZE; i++) {
		t->ring[i].seq = i;
	}
	t->ring_mask = THREAD_MSG_RING_SIZE - 1;
	t->enq_pos = 0;
	t->deq_pos = 0;
	return 0;
}

static int
msg_ring_enqueue(struct thread *t, thread_msg_fn fn, void *ctx)
{
	size_t pos = __atomic_load_n(&t->enq_pos, __ATOMIC_RELAXED);
	struct thread_msg_cell *cell;
	intptr_t dif;
	size_t seq;

	for (;;) {
		cell = &t->ring[pos & t->ring_mask];
		seq = __atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE);
		dif = (intptr_t)seq - (intptr_t)pos;
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&t->enq_pos, &pos, pos + 1, true,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				break;
			}
		} else if (dif < 0) {
			return -ENOMEM;
		} else {
			pos = __atomic_load_n(&t->enq_pos, __ATOMIC_RELAXED);
		}
	}
	cell->fn = fn;
	cell->ctx = ctx;
	/* Publishes fn/ctx to the consumer. */
	__atomic_store_n(&cell->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

bool
thread_has_msgs(const struct thread *t)
{
	size_t pos = __atomic_load_n(&t->deq_pos, __ATOMIC_RELAXED);
	const struct thread_msg_cell *cell = &t->ring[pos & t->ring_mask];

	return __atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE) == pos + 1 ||
	       __atomic_load_n(&t->has_overflow, __ATOMIC_ACQUIRE);
}

static uint32_t
thread_run_overflow(struct thread *t)
{
	struct thread_overflow_msg *m, *next;
	uint32_t n = 0;

	pthread_mutex_lock(&t->overflow_lock);
	m = t->overflow_head;
	t->overflow_head = NULL;
	t->overflow_tail = &t->overflow_head;
	__atomic_store_n(&t->has_overflow, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->overflow_lock);
	for (; m != NULL; m = next) {
		next = m->next;
		m->fn(m->ctx);
		free(m);
		n++;
	}
	return n;
}

static uint32_t
thread_run_msgs(struct thread *t, uint32_t max)
{
	struct thread_msg_cell *cell;
	thread_msg_fn fn;
	uint32_t n = 0;
	size_t pos;
	void *ctx;

	while (n < max) {
		pos = t->deq_pos;
		cell = &t->ring[pos & t->ring_mask];
		if (__atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE) != pos + 1) {
			break;
		}
		fn = cell->fn;
		ctx = cell->ctx;
		/* Hands the slot back to producers one lap ahead. */
		__atomic_store_n(&cell->seq, pos + THREAD_MSG_RING_SIZE, __ATOMIC_RELEASE);
		__atomic_store_n(&t->deq_pos, pos + 1, __ATOMIC_RELAXED);
		fn(ctx);
		n++;
	}
	if (__atomic_load_n(&t->has_overflow, __ATOMIC_ACQUIRE)) {
		n += thread_run_overflow(t);
	}
	return n;
}

int
thread_send_msg(struct thread *t, thread_msg_fn fn, void *ctx)
{
	struct reactor *r;
	int rc;

	if (t == NULL || fn == NULL) {
		return -EINVAL;
	}
	if (thread_state(t) == THREAD_STATE_EXITED) {
		return -EINVAL;
	}
	/*
	 * Read before enqueueing: once the message is in, the thread may run
	 * it, exit and be freed before this call returns.
	 */
	r = t->reactor;
	rc = msg_ring_enqueue(t, fn, ctx);
	if (rc != 0) {
		return rc;
	}
	reactor_notify_msg(r);
	return 0;
}

/*
 * For the library's own control-path walks (for_each steps, completions,
 * deferred destroys), which must not be lost: when the ring is full the
 * message goes to a locked overflow list (malloc; no FIFO order with the
 * ring) that the thread drains after its ring batch.
 */
static int
thread_send_msg_nofail(struct thread *t, thread_msg_fn fn, void *ctx)
{
	struct thread_overflow_msg *m;
	struct reactor *r;
	int rc;

	rc = thread_send_msg(t, fn, ctx);
	if (rc != -ENOMEM) {
		return rc;
	}
	m = malloc(sizeof(*m));
	if (m == NULL) {
		return -ENOMEM;
	}
	m->next = NULL;
	m->fn = fn;
	m->ctx = ctx;
	r = t->reactor;
	pthread_mutex_lock(&t->overflow_lock);
	*t->overflow_tail = m;
	t->overflow_tail = &m->next;
	__atomic_store_n(&t->has_overflow, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->overflow_lock);
	reactor_notify_msg(r);
	return 0;
}

/* ---- threads ---------------------------------------------------------------------- */

struct thread *
thread_create(const char *name, const struct cpuset *mask)
{
	struct thread *t;

	t = aligned_alloc(64, VHD_ALIGN_UP(sizeof(*t), (size_t)64));
	if (t == NULL) {
		VHD_ERRLOG("thread %s: out of memory\n", name ? name : "");
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name != NULL ? name : "thread");
	TAILQ_INIT(&t->active);
	TAILQ_INIT(&t->timed);
	TAILQ_INIT(&t->paused);
	TAILQ_INIT(&t->intrs);
	TAILQ_INIT(&t->channels);
	t->state = THREAD_STATE_RUNNING;
	t->epfd = -1;
	pthread_mutex_init(&t->overflow_lock, NULL);
	t->overflow_tail = &t->overflow_head;

	if (msg_ring_init(t) != 0) {
		VHD_ERRLOG("thread %s: out of memory for its message ring\n", t->name);
		goto err_free;
	}
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		VHD_ERRLOG("thread %s: epoll_create1: %s\n", t->name, strerror(errno));
		goto err_free;
	}

	/* Picks the reactor and the cpumask; fails if the mask has no reactor. */
	if (reactor_place_thread(t, mask) != 0) {
		goto err_free;
	}

	pthread_mutex_lock(&g_thread_lock);
	t->id = g_next_thread_id++;
	TAILQ_INSERT_TAIL(&g_threads, t, glink);
	if (g_app_thread == NULL) {
		g_app_thread = t;
	}
	pthread_mutex_unlock(&g_thread_lock);

	VHD_DEBUGLOG(thread, "thread %s (id %" PRIu64 ") created on lcore %u\n", t->name, t->id,
		     thread_get_lcore(t));
	/* Last: from here on its reactor may run it (and it may exit) at any time. */
	reactor_add_thread(t);
	return t;

err_free:
	thread_free(t);
	return NULL;
}

static void
poller_free(struct poller *p)
{
	p->thread->poller_count--;
	free(p);
}

/* Leftovers only: channels of a thread that never exited (no destroy_cb: teardown). */
static void
thread_free_channels(struct thread *t)
{
	struct io_channel *ch;
	struct io_device *dev;
	bool free_dev;

	for (;;) {
		pthread_mutex_lock(&g_thread_lock);
		ch = TAILQ_FIRST(&t->channels);
		if (ch == NULL) {
			pthread_mutex_unlock(&g_thread_lock);
			return;
		}
		TAILQ_REMOVE(&t->channels, ch, link);
		dev = ch->dev;
		dev->refcnt--;
		free_dev = dev->unregistered && dev->refcnt == 0 && dev->iter_refs == 0 &&
			   !dev->releasing;
		pthread_mutex_unlock(&g_thread_lock);
		VHD_WARNLOG("thread %s: io_channel %s freed with the thread\n", t->name, dev->name);
		free(ch);
		if (free_dev) {
			free(dev);
		}
	}
}

static void
thread_free(struct thread *t)
{
	struct thread_interrupt *intr;
	struct poller *p;

	/* Only reached with leftovers from thread_lib_fini() on a thread that never exited. */
	while ((p = TAILQ_FIRST(&t->active)) != NULL) {
		TAILQ_REMOVE(&t->active, p, link);
		poller_free(p);
	}
	while ((p = TAILQ_FIRST(&t->timed)) != NULL) {
		TAILQ_REMOVE(&t->timed, p, link);
		poller_free(p);
	}
	while ((p = TAILQ_FIRST(&t->paused)) != NULL) {
		TAILQ_REMOVE(&t->paused, p, link);
		poller_free(p);
	}
	while ((intr = TAILQ_FIRST(&t->intrs)) != NULL) {
		TAILQ_REMOVE(&t->intrs, intr, link);
		free(intr);
	}
	thread_free_channels(t);
	if (t->epfd >= 0) {
		close(t->epfd);
		t->epfd = -1;
	}
	if (tls_thread == t) {
		tls_thread = NULL;
	}
	while (t->overflow_head != NULL) {
		struct thread_overflow_msg *m = t->overflow_head;

		t->overflow_head = m->next;
		free(m);
	}
	pthread_mutex_destroy(&t->overflow_lock);
	free(t->ring);
	free(t);
}

/* Remove from the global list and free; the reactor (if any) has already let go. */
void
thread_release(struct thread *t)
{
	pthread_mutex_lock(&g_thread_lock);
	TAILQ_REMOVE(&g_threads, t, glink);
	if (g_app_thread == t) {
		g_app_thread = NULL;
	}
	pthread_mutex_unlock(&g_thread_lock);
	VHD_DEBUGLOG(thread, "thread %s destroyed\n", t->name);
	thread_free(t);
}

void
thread_exit(struct thread *t)
{
	if (t == NULL) {
		return;
	}
	if (t != tls_thread) {
		VHD_WARNLOG("thread_exit(%s) called from another thread\n", t->name);
	}
	if (thread_state(t) == THREAD_STATE_RUNNING) {
		__atomic_store_n(&t->state, THREAD_STATE_EXITING, __ATOMIC_RELEASE);
	}
}

bool
thread_is_exited(const struct thread *t)
{
	return thread_state(t) == THREAD_STATE_EXITED;
}

void
thread_destroy(struct thread *t)
{
	if (t == NULL) {
		return;
	}
	if (thread_state(t) != THREAD_STATE_EXITED) {
		VHD_ERRLOG("thread %s: destroy before it exited\n", t->name);
		return;
	}
	if (t->reactor != NULL) {
		VHD_ERRLOG("thread %s: its reactor destroys it\n", t->name);
		return;
	}
	thread_release(t);
}

struct thread *
thread_get_current(void)
{
	return tls_thread;
}

void
thread_set_current(struct thread *t)
{
	tls_thread = t;
}

struct thread *
thread_get_app(void)
{
	return g_app_thread;
}

const char *
thread_get_name(const struct thread *t)
{
	return t->name;
}

uint64_t
thread_get_id(const struct thread *t)
{
	return t->id;
}

const struct cpuset *
thread_get_cpumask(const struct thread *t)
{
	return &t->cpumask;
}

uint32_t
thread_get_lcore(const struct thread *t)
{
	return t->lcore;
}

void
thread_get_stats(const struct thread *t, struct thread_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->busy_ticks = __atomic_load_n(&t->busy_ticks, __ATOMIC_RELAXED);
	s->idle_ticks = __atomic_load_n(&t->idle_ticks, __ATOMIC_RELAXED);
	s->active_pollers = __atomic_load_n(&t->nactive, __ATOMIC_RELAXED);
	s->timed_pollers = __atomic_load_n(&t->ntimed, __ATOMIC_RELAXED);
	s->paused_pollers = __atomic_load_n(&t->npaused, __ATOMIC_RELAXED);
	s->poller_runs = __atomic_load_n(&t->poller_runs, __ATOMIC_RELAXED);
	s->msgs_run = __atomic_load_n(&t->msgs_run, __ATOMIC_RELAXED);
}

void
thread_iterate(void (*fn)(struct thread *t, void *ctx), void *ctx)
{
	struct thread *t;

	pthread_mutex_lock(&g_thread_lock);
	TAILQ_FOREACH(t, &g_threads, glink) {
		fn(t, ctx);
	}
	pthread_mutex_unlock(&g_thread_lock);
}

/* ---- pollers ---------------------------------------------------------------------- */

static void
poller_list_add(struct thread *t, struct poller *p, enum poller_list_id which)
{
	struct poller *it;

	p->list = which;
	switch (which) {
	case POLLER_LIST_ACTIVE:
		TAILQ_INSERT_TAIL(&t->active, p, link);
		__atomic_store_n(&t->nactive, t->nactive + 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_TIMED:
		/* Ordered by expiry; equal expiries run in registration order. */
		TAILQ_FOREACH_REVERSE(it, &t->timed, poller_list, link) {
			if (it->next_run_us <= p->next_run_us) {
				break;
			}
		}
		if (it == NULL) {
			TAILQ_INSERT_HEAD(&t->timed, p, link);
		} else {
			TAILQ_INSERT_AFTER(&t->timed, it, p, link);
		}
		__atomic_store_n(&t->ntimed, t->ntimed + 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_PAUSED:
		TAILQ_INSERT_TAIL(&t->paused, p, link);
		__atomic_store_n(&t->npaused, t->npaused + 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_NONE:
		break;
	}
}

static void
poller_list_remove(struct thread *t, struct poller *p)
{
	switch (p->list) {
	case POLLER_LIST_ACTIVE:
		TAILQ_REMOVE(&t->active, p, link);
		__atomic_store_n(&t->nactive, t->nactive - 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_TIMED:
		TAILQ_REMOVE(&t->timed, p, link);
		__atomic_store_n(&t->ntimed, t->ntimed - 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_PAUSED:
		TAILQ_REMOVE(&t->paused, p, link);
		__atomic_store_n(&t->npaused, t->npaused - 1, __ATOMIC_RELAXED);
		break;
	case POLLER_LIST_NONE:
		break;
	}
	p->list = POLLER_LIST_NONE;
}

/*
 * Apply pending pause/unregister requests. Callbacks only mark pollers, so
 * no list walk ever meets a freed or moved element; this runs outside walks.
 */
static void
thread_sweep_pollers(struct thread *t)
{
	struct poller_list *lists[] = {&t->active, &t->timed, &t->paused};
	struct poller *p, *tmp;
	size_t i;

	t->need_sweep = false;
	for (i = 0; i < VHD_COUNTOF(lists); i++) {
		TAILQ_FOREACH_SAFE(p, lists[i], link, tmp) {
			if (p->state == POLLER_STATE_UNREGISTERED) {
				poller_list_remove(t, p);
				poller_free(p);
			} else if (p->state == POLLER_STATE_PAUSING) {
				poller_list_remove(t, p);
				p->state = POLLER_STATE_PAUSED;
				poller_list_add(t, p, POLLER_LIST_PAUSED);
			}
		}
	}
}

static int
poller_run(struct thread *t, struct poller *p)
{
	int rc;

	rc = p->fn(p->ctx);
	p->runs++;
	__atomic_store_n(&t->poller_runs, t->poller_runs + 1, __ATOMIC_RELAXED);
	return rc > 0 ? POLLER_BUSY : POLLER_IDLE;
}

struct poller *
poller_register(poller_fn fn, void *ctx, uint64_t period_us, const char *name)
{
	struct thread *t = tls_thread;
	struct poller *p;

	if (t == NULL) {
		VHD_ERRLOG("poller %s: no current thread\n", name ? name : "");
		return NULL;
	}
	if (fn == NULL) {
		VHD_ERRLOG("poller %s: no function\n", name ? name : "");
		return NULL;
	}
	if (thread_state(t) != THREAD_STATE_RUNNING) {
		VHD_ERRLOG("poller %s: thread %s is exiting\n", name ? name : "", t->name);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		VHD_ERRLOG("poller %s: out of memory\n", name ? name : "");
		return NULL;
	}
	p->thread = t;
	p->fn = fn;
	p->ctx = ctx;
	p->period_us = period_us;
	p->state = POLLER_STATE_RUNNING;
	snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "poller");
	t->poller_count++;
	if (period_us == 0) {
		poller_list_add(t, p, POLLER_LIST_ACTIVE);
	} else {
		p->next_run_us = g_clock_us() + period_us;
		poller_list_add(t, p, POLLER_LIST_TIMED);
	}
	return p;
}

void
poller_unregister(struct poller **pp)
{
	struct poller *p;

	if (pp == NULL || *pp == NULL) {
		return;
	}
	p = *pp;
	*pp = NULL;
	if (p->thread != tls_thread) {
		VHD_ERRLOG("poller %s unregistered from another thread\n", p->name);
	}
	p->state = POLLER_STATE_UNREGISTERED;
	p->thread->need_sweep = true;
}

void
poller_pause(struct poller *p)
{
	if (p == NULL || p->state != POLLER_STATE_RUNNING) {
		return;
	}
	p->state = POLLER_STATE_PAUSING;
	p->thread->need_sweep = true;
}

void
poller_resume(struct poller *p)
{
	struct thread *t;

	if (p == NULL) {
		return;
	}
	t = p->thread;
	if (p->state == POLLER_STATE_PAUSING) {
		p->state = POLLER_STATE_RUNNING;
		return;
	}
	if (p->state != POLLER_STATE_PAUSED) {
		return;
	}
	poller_list_remove(t, p);
	p->state = POLLER_STATE_RUNNING;
	if (p->period_us == 0) {
		poller_list_add(t, p, POLLER_LIST_ACTIVE);
	} else {
		p->next_run_us = g_clock_us() + p->period_us;
		poller_list_add(t, p, POLLER_LIST_TIMED);
	}
}

void
poller_set_sleep_cb(struct poller *p, poller_sleep_cb cb)
{
	if (p != NULL) {
		p->sleep_cb = cb;
	}
}

bool
thread_sleep_check(struct thread *t)
{
	struct poller_list *lists[] = {&t->active, &t->timed};
	struct thread *saved = tls_thread;
	struct poller *p;
	bool ok = true;
	size_t i;

	tls_thread = t;
	for (i = 0; i < VHD_COUNTOF(lists) && ok; i++) {
		TAILQ_FOREACH(p, lists[i], link) {
			if (p->state != POLLER_STATE_RUNNING || p->sleep_cb == NULL) {
				continue;
			}
			if (!p->sleep_cb(p->ctx)) {
				ok = false;
				break;
			}
		}
	}
	tls_thread = saved;
	return ok;
}

bool
thread_next_timer_us(struct thread *t, uint64_t *next_us)
{
	struct poller *p;

	TAILQ_FOREACH(p, &t->timed, link) {
		if (p->state == POLLER_STATE_RUNNING) {
			*next_us = p->next_run_us;
			return true;
		}
	}
	return false;
}

/* ---- interrupts ------------------------------------------------------------------- */

struct thread_interrupt *
thread_interrupt_register(int fd, thread_interrupt_fn fn, void *ctx, const char *name)
{
	struct thread *t = tls_thread;
	struct thread_interrupt *intr;
	struct epoll_event ev;

	if (t == NULL) {
		VHD_ERRLOG("interrupt %s: no current thread\n", name ? name : "");
		return NULL;
	}
	if (fd < 0 || fn == NULL) {
		VHD_ERRLOG("interrupt %s: bad fd %d or no function\n", name ? name : "", fd);
		return NULL;
	}
	intr = calloc(1, sizeof(*intr));
	if (intr == NULL) {
		VHD_ERRLOG("interrupt %s: out of memory\n", name ? name : "");
		return NULL;
	}
	intr->thread = t;
	intr->fd = fd;
	intr->fn = fn;
	intr->ctx = ctx;
	snprintf(intr->name, sizeof(intr->name), "%s", name != NULL ? name : "interrupt");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = intr;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		VHD_ERRLOG("interrupt %s: epoll_ctl(fd %d): %s\n", intr->name, fd, strerror(errno));
		free(intr);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&t->intrs, intr, link);
	t->intr_count++;
	return intr;
}

void
thread_interrupt_unregister(struct thread_interrupt **pp)
{
	struct thread_interrupt *intr, *other;
	struct thread *t;

	if (pp == NULL || *pp == NULL) {
		return;
	}
	intr = *pp;
	*pp = NULL;
	t = intr->thread;
	if (t != tls_thread) {
		VHD_ERRLOG("interrupt %s unregistered from another thread\n", intr->name);
	}
	/* Freed later: an epoll batch being dispatched may still point at it. */
	intr->dead = true;
	/*
	 * If the owner closed the fd first, epoll already dropped it and the
	 * number may now belong to a newer registration: leave that one alone.
	 */
	TAILQ_FOREACH(other, &t->intrs, link) {
		if (!other->dead && other->fd == intr->fd) {
			break;
		}
	}
	if (other == NULL) {
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, intr->fd, NULL);
	}
	t->intr_dead = true;
	t->intr_count--;
}

static void
thread_reap_interrupts(struct thread *t)
{
	struct thread_interrupt *intr, *tmp;

	t->intr_dead = false;
	TAILQ_FOREACH_SAFE(intr, &t->intrs, link, tmp) {
		if (intr->dead) {
			TAILQ_REMOVE(&t->intrs, intr, link);
			free(intr);
		}
	}
}

/* A thread's time in pollers, messages and handlers: busy if any did work, else idle. */
static void
thread_account(struct thread *t, bool busy, uint64_t ticks)
{
	if (busy) {
		__atomic_store_n(&t->busy_ticks, t->busy_ticks + ticks, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&t->idle_ticks, t->idle_ticks + ticks, __ATOMIC_RELAXED);
	}
}

int
thread_run_interrupts(struct thread *t, bool ready, uint64_t *ticks)
{
	struct epoll_event ev[32];
	struct thread_interrupt *intr;
	struct thread *saved = tls_thread;
	uint64_t end;
	int n, i, rc = POLLER_IDLE;

	if (t->intr_count == 0) {
		return POLLER_IDLE;
	}
	if (ready && t->intr_count == 1) {
		/*
		 * The reactor saw this thread's epoll fd ready and there is one
		 * fd in it: that one is ready, no epoll_wait() needed to say so
		 * (a syscall costs ~1 us on a VM; this is every interrupt-mode
		 * wake-up of an aio/uring channel or a vhost queue's thread).
		 */
		TAILQ_FOREACH(intr, &t->intrs, link) {
			if (!intr->dead) {
				break;
			}
		}
		if (intr == NULL) {
			return POLLER_IDLE;
		}
		ev[0].data.ptr = intr;
		n = 1;
	} else {
		n = epoll_wait(t->epfd, ev, VHD_COUNTOF(ev), 0);
		if (n <= 0) {
			return POLLER_IDLE;
		}
	}
	tls_thread = t;
	for (i = 0; i < n; i++) {
		intr = ev[i].data.ptr;
		if (intr->dead) {
			continue;
		}
		if (intr->fn(intr->ctx) > 0) {
			rc = POLLER_BUSY;
		}
	}
	/* Run by the reactor, outside thread_poll(): their time counts here. */
	if (ticks != NULL) {
		end = util_get_ticks();
		thread_account(t, rc == POLLER_BUSY, end - *ticks);
		*ticks = end;
	}
	tls_thread = saved;
	if (t->intr_dead) {
		thread_reap_interrupts(t);
	}
	/* A handler may have been the thread's last act (thread_exit + unregister). */
	thread_check_exit(t);
	return rc;
}

void
thread_eventfd_drain(int fd)
{
	uint64_t v;
	ssize_t rc;

	do {
		rc = read(fd, &v, sizeof(v));
	} while (rc < 0 && errno == EINTR);
}

/* ---- poll ------------------------------------------------------------------------- */

static void
thread_check_exit(struct thread *t)
{
	if (thread_state(t) != THREAD_STATE_EXITING) {
		return;
	}
	if (t->poller_count != 0 || t->intr_count != 0 || !TAILQ_EMPTY(&t->channels) ||
	    thread_has_msgs(t)) {
		return;
	}
	__atomic_store_n(&t->state, THREAD_STATE_EXITED, __ATOMIC_RELEASE);
	VHD_DEBUGLOG(thread, "thread %s exited\n", t->name);
}

/*
 * `*ticks` is the time the iteration starts (util_get_ticks()) and becomes the
 * time it ended, so a reactor reads the clock once per thread, not twice.
 */
int
thread_poll_ticks(struct thread *t, uint32_t max_msgs, uint64_t *ticks)
{
	struct thread *saved = tls_thread;
	struct poller *p, *tmp;
	uint64_t start = *ticks, end, now_us;
	uint32_t n, m, budget;
	bool busy_pollers = false;
	int rc = POLLER_IDLE;

	if (t == NULL || thread_state(t) == THREAD_STATE_EXITED) {
		return POLLER_IDLE;
	}
	tls_thread = t;
	if (t->need_sweep) {
		thread_sweep_pollers(t);
	}
	if (t->intr_dead) {
		thread_reap_interrupts(t);
	}

	budget = max_msgs != 0 ? max_msgs : THREAD_MSG_BATCH;
	n = thread_run_msgs(t, budget);
	if (n > 0) {
		__atomic_store_n(&t->msgs_run, t->msgs_run + n, __ATOMIC_RELAXED);
		rc = POLLER_BUSY;
	}

	/* Pollers added while walking join at the tail and run this round too. */
	TAILQ_FOREACH_SAFE(p, &t->active, link, tmp) {
		if (p->state != POLLER_STATE_RUNNING) {
			continue;
		}
		if (poller_run(t, p) == POLLER_BUSY) {
			busy_pollers = true;
		}
	}
	/*
	 * What busy pollers sent to their own thread (a bdev's completions of I/O
	 * that finished inside submit are deferred to a message) runs now, not a
	 * whole reactor loop later: at queue depth 1 that loop is on every request.
	 */
	if (busy_pollers) {
		rc = POLLER_BUSY;
		if (n < budget) {
			m = thread_run_msgs(t, budget - n);
			__atomic_store_n(&t->msgs_run, t->msgs_run + m, __ATOMIC_RELAXED);
		}
	}

	/* The clock only when a timed poller exists. */
	now_us = TAILQ_EMPTY(&t->timed) ? 0 : g_clock_us();
	while ((p = TAILQ_FIRST(&t->timed)) != NULL && p->next_run_us <= now_us) {
		poller_list_remove(t, p);
		if (p->state == POLLER_STATE_RUNNING && poller_run(t, p) == POLLER_BUSY) {
			rc = POLLER_BUSY;
		}
		if (p->state == POLLER_STATE_UNREGISTERED) {
			poller_free(p);
		} else if (p->state == POLLER_STATE_PAUSING || p->state == POLLER_STATE_PAUSED) {
			p->state = POLLER_STATE_PAUSED;
			poller_list_add(t, p, POLLER_LIST_PAUSED);
		} else {
			p->next_run_us = now_us + p->period_us;
			poller_list_add(t, p, POLLER_LIST_TIMED);
		}
	}

	/* Threads without a reactor check their fds here; reactors do it for theirs. */
	if (t->reactor == NULL && t->intr_count > 0 && thread_run_interrupts(t, false, NULL) == POLLER_BUSY) {
		rc = POLLER_BUSY;
	}

	if (t->need_sweep) {
		thread_sweep_pollers(t);
	}
	if (t->intr_dead) {
		thread_reap_interrupts(t);
	}
	thread_check_exit(t);

	end = util_get_ticks();
	thread_account(t, rc == POLLER_BUSY, end - start);
	*ticks = end;
	tls_thread = saved;
	return rc;
}

int
thread_poll(struct thread *t, uint32_t max_msgs)
{
	uint64_t ticks = util_get_ticks();

	return thread_poll_ticks(t, max_msgs, &ticks);
}

/* ---- thread_for_each ---------------------------------------------------------------- */

static void thread_for_each_step(void *arg);

static void
thread_for_each_done(void *arg)
{
	struct thread_for_each_ctx *fe = arg;

	if (fe->cpl != NULL) {
		fe->cpl(fe->ctx);
	}
	free(fe);
}

/* Send the walk to the first live thread from `t` on, or complete it. */
static void
thread_for_each_next(struct thread_for_each_ctx *fe, struct thread *t)
{
	for (; t != NULL; t = TAILQ_NEXT(t, glink)) {
		fe->cur = t;
		if (thread_send_msg_nofail(t, thread_for_each_step, fe) == 0) {
			return;
		}
	}
	if (thread_send_msg_nofail(fe->orig, thread_for_each_done, fe) != 0) {
		VHD_ERRLOG("thread_for_each: cannot complete on %s\n", fe->orig->name);
	}
}

static void
thread_for_each_step(void *arg)
{
	struct thread_for_each_ctx *fe = arg;

	fe->fn(fe->ctx);
	pthread_mutex_lock(&g_thread_lock);
	thread_for_each_next(fe, TAILQ_NEXT(fe->cur, glink));
	pthread_mutex_unlock(&g_thread_lock);
}

int
thread_for_each(thread_msg_fn fn, void *ctx, thread_msg_fn cpl)
{
	struct thread_for_each_ctx *fe;

	if (fn == NULL || tls_thread == NULL) {
		return -EINVAL;
	}
	fe = calloc(1, sizeof(*fe));
	if (fe == NULL) {
		return -ENOMEM;
	}
	fe->fn = fn;
	fe->ctx = ctx;
	fe->cpl = cpl;
	fe->orig = tls_thread;
	pthread_mutex_lock(&g_thread_lock);
	thread_for_each_next(fe, TAILQ_FIRST(&g_threads));
	pthread_mutex_unlock(&g_thread_lock);
	return 0;
}

/* ---- io_devices and io_channels ------------------------------------------------------ */

static struct io_device *
io_device_find(void *ptr)
{
	struct io_device *dev;

	TAILQ_FOREACH(dev, &g_io_devices, link) {
		if (dev->ptr == ptr) {
			return dev;
		}
	}
	return NULL;
}

void
io_device_register(void *io_device, io_channel_create_cb create_cb,
		   io_channel_destroy_cb destroy_cb, uint32_t ctx_size, const char *name)
{
	struct io_device *dev;

	if (io_device == NULL) {
		VHD_ERRLOG("io_device %s: NULL device\n", name ? name : "");
		return;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		VHD_ERRLOG("io_device %s: out of memory\n", name ? name : "");
		return;
	}
	dev->ptr = io_device;
	dev->create_cb = create_cb;
	dev->destroy_cb = destroy_cb;
	dev->ctx_size = ctx_size;
	snprintf(dev->name, sizeof(dev->name), "%s", name != NULL ? name : "io_device");

	pthread_mutex_lock(&g_thread_lock);
	if (io_device_find(io_device) != NULL) {
		pthread_mutex_unlock(&g_thread_lock);
		VHD_ERRLOG("io_device %s (%p) already registered\n", dev->name, io_device);
		free(dev);
		return;
	}
	TAILQ_INSERT_TAIL(&g_io_devices, dev, link);
	pthread_mutex_unlock(&g_thread_lock);
	VHD_DEBUGLOG(thread, "io_device %s (%p) registered\n", dev->name, io_device);
}

static void
io_device_unregister_done(void *arg)
{
	struct io_device *dev = arg;

	VHD_DEBUGLOG(thread, "io_device %s (%p) unregistered\n", dev->name, dev->ptr);
	if (dev->unregister_cb != NULL) {
		dev->unregister_cb(dev->ptr);
	}
	free(dev);
}

/*
 * Called with g_thread_lock held whenever a reference of an unregistered
 * device drops. Returns the device if the caller must run
 * io_device_unregister_done() itself after unlocking (no thread to defer to).
 */
static struct io_device *
io_device_maybe_free(struct io_device *dev)
{
	if (!dev->unregistered || dev->refcnt != 0 || dev->iter_refs != 0 || dev->releasing) {
		return NULL;
	}
	/* Exactly once, even when two threads drop the last references together. */
	dev->releasing = true;
	if (dev->unregister_thread != NULL &&
	    thread_send_msg_nofail(dev->unregister_thread, io_device_unregister_done, dev) == 0) {
		return NULL;
	}
	return dev;
}

static void
io_device_release(struct io_device *dev)
{
	struct io_device *done;

	pthread_mutex_lock(&g_thread_lock);
	done = io_device_maybe_free(dev);
	pthread_mutex_unlock(&g_thread_lock);
	if (done != NULL) {
		io_device_unregister_done(done);
	}
}

void
io_device_unregister(void *io_device, io_device_unregister_cb unregister_cb)
{
	struct io_device *dev;

	pthread_mutex_lock(&g_thread_lock);
	dev = io_device_find(io_device);
	if (dev == NULL) {
		pthread_mutex_unlock(&g_thread_lock);
		VHD_ERRLOG("io_device %p is not registered\n", io_device);
		return;
	}
	TAILQ_REMOVE(&g_io_devices, dev, link);
	dev->unregistered = true;
	dev->unregister_cb = unregister_cb;
	dev->unregister_thread = tls_thread;
	pthread_mutex_unlock(&g_thread_lock);
	io_device_release(dev);
}

static inline void *
io_channel_ctx(struct io_channel *ch)
{
	return (char *)ch + IO_CHANNEL_CTX_OFFSET;
}

struct io_channel *
io_channel_get(void *io_device)
{
	struct thread *t = tls_thread;
	struct io_device *dev;
	struct io_channel *ch;
	int rc;

	if (t == NULL) {
		VHD_ERRLOG("io_channel_get(%p): no current thread\n", io_device);
		return NULL;
	}
	pthread_mutex_lock(&g_thread_lock);
	dev = io_device_find(io_device);
	if (dev == NULL) {
		pthread_mutex_unlock(&g_thread_lock);
		VHD_ERRLOG("io_channel_get: io_device %p is not registered\n", io_device);
		return NULL;
	}
	TAILQ_FOREACH(ch, &t->channels, link) {
		if (ch->dev == dev) {
			ch->ref++;
			pthread_mutex_unlock(&g_thread_lock);
			return ch;
		}
	}
	if (thread_state(t) != THREAD_STATE_RUNNING) {
		pthread_mutex_unlock(&g_thread_lock);
		VHD_ERRLOG("io_channel_get(%s): thread %s is exiting\n", dev->name, t->name);
		return NULL;
	}
	/* Keeps dev alive while create_cb runs without the lock. */
	dev->refcnt++;
	pthread_mutex_unlock(&g_thread_lock);

	ch = aligned_alloc(64, VHD_ALIGN_UP(IO_CHANNEL_CTX_OFFSET + dev->ctx_size, (size_t)64));
	if (ch == NULL) {
		VHD_ERRLOG("io_channel_get(%s): out of memory\n", dev->name);
		rc = -ENOMEM;
		goto err_unref;
	}
	memset(ch, 0, IO_CHANNEL_CTX_OFFSET + dev->ctx_size);
	ch->thread = t;
	ch->dev = dev;
	ch->ref = 1;
	if (dev->create_cb != NULL) {
		rc = dev->create_cb(io_device, io_channel_ctx(ch));
		if (rc != 0) {
			VHD_ERRLOG("io_channel_get(%s): create failed: %s\n", dev->name,
				   strerror(-rc));
			free(ch);
			goto err_unref;
		}
	}
	pthread_mutex_lock(&g_thread_lock);
	TAILQ_INSERT_TAIL(&t->channels, ch, link);
	pthread_mutex_unlock(&g_thread_lock);
	VHD_DEBUGLOG(thread, "io_channel %s created on %s\n", dev->name, t->name);
	return ch;

err_unref:
	pthread_mutex_lock(&g_thread_lock);
	dev->refcnt--;
	pthread_mutex_unlock(&g_thread_lock);
	io_device_release(dev);
	return NULL;
}

static void
io_channel_destroy(struct io_channel *ch)
{
	struct io_device *dev = ch->dev;

	pthread_mutex_lock(&g_thread_lock);
	TAILQ_REMOVE(&ch->thread->channels, ch, link);
	pthread_mutex_unlock(&g_thread_lock);
	if (dev->destroy_cb != NULL) {
		dev->destroy_cb(dev->ptr, io_channel_ctx(ch));
	}
	VHD_DEBUGLOG(thread, "io_channel %s destroyed on %s\n", dev->name, ch->thread->name);
	free(ch);
	pthread_mutex_lock(&g_thread_lock);
	dev->refcnt--;
	pthread_mutex_unlock(&g_thread_lock);
	io_device_release(dev);
}

static void
io_channel_put_deferred(void *arg)
{
	struct io_channel *ch = arg;

	ch->destroy_scheduled = false;
	/* Someone got it again in the meantime. */
	if (ch->ref > 0) {
		return;
	}
	io_channel_destroy(ch);
}

void
io_channel_put(struct io_channel *ch)
{
	if (ch == NULL) {
		return;
	}
	if (ch->thread != tls_thread) {
		VHD_ERRLOG("io_channel %s put from another thread\n", ch->dev->name);
	}
	if (ch->ref == 0) {
		VHD_ERRLOG("io_channel %s put with no reference\n", ch->dev->name);
		return;
	}
	ch->ref--;
	if (ch->ref > 0 || ch->destroy_scheduled) {
		return;
	}
	/* Deferred so a put inside a loop over channels never frees under it. */
	ch->destroy_scheduled = true;
	if (thread_send_msg_nofail(ch->thread, io_channel_put_deferred, ch) != 0) {
		ch->destroy_scheduled = false;
		io_channel_destroy(ch);
	}
}

void *
io_channel_get_ctx(struct io_channel *ch)
{
	return io_channel_ctx(ch);
}

struct io_channel *
io_channel_from_ctx(void *ctx)
{
	return (struct io_channel *)((char *)ctx - IO_CHANNEL_CTX_OFFSET);
}

struct thread *
io_channel_get_thread(struct io_channel *ch)
{
	return ch->thread;
}

void *
io_channel_get_io_device(struct io_channel *ch)
{
	return ch->dev->ptr;
}

/* g_thread_lock held. A live channel (ref > 0) of dev on t, or NULL. */
static struct io_channel *
io_channel_find(struct thread *t, struct io_device *dev)
{
	struct io_channel *ch;

	TAILQ_FOREACH(ch, &t->channels, link) {
		if (ch->dev == dev && ch->ref > 0) {
			return ch;
		}
	}
	return NULL;
}

static void io_channel_iter_step(void *arg);

static void
io_channel_iter_done(void *arg)
{
	struct io_channel_iter *i = arg;

	if (i->cpl != NULL) {
		i->cpl(i, i->status);
	}
	if (i->dev != NULL) {
		pthread_mutex_lock(&g_thread_lock);
		i->dev->iter_refs--;
		pthread_mutex_unlock(&g_thread_lock);
		io_device_release(i->dev);
	}
	free(i);
}

/* g_thread_lock held: move the walk to the next thread from `t` with a channel. */
static void
io_channel_iter_next(struct io_channel_iter *i, struct thread *t)
{
	for (; t != NULL; t = TAILQ_NEXT(t, glink)) {
		if (io_channel_find(t, i->dev) == NULL) {
			continue;
		}
		i->cur = t;
		if (thread_send_msg_nofail(t, io_channel_iter_step, i) == 0) {
			return;
		}
		VHD_ERRLOG("io_channel_for_each(%s): cannot reach thread %s\n", i->dev->name,
			   t->name);
	}
	if (thread_send_msg_nofail(i->orig, io_channel_iter_done, i) != 0) {
		VHD_ERRLOG("io_channel_for_each(%s): cannot complete on %s\n", i->dev->name,
			   i->orig->name);
	}
}

static void
io_channel_iter_step(void *arg)
{
	struct io_channel_iter *i = arg;
	struct io_channel *ch;

	pthread_mutex_lock(&g_thread_lock);
	ch = io_channel_find(i->cur, i->dev);
	if (ch == NULL) {
		/* Its channel went away while the message was in flight. */
		io_channel_iter_next(i, TAILQ_NEXT(i->cur, glink));
		pthread_mutex_unlock(&g_thread_lock);
		return;
	}
	/* Held until continue: the thread cannot exit under fn. */
	ch->ref++;
	pthread_mutex_unlock(&g_thread_lock);
	i->ch = ch;
	i->fn(i);
}

void
io_channel_for_each(void *io_device, io_channel_iter_fn fn, void *ctx, io_channel_iter_cpl cpl)
{
	struct io_channel_iter *i;

	if (tls_thread == NULL || fn == NULL) {
		VHD_ERRLOG("io_channel_for_each(%p): no current thread or function\n", io_device);
		return;
	}
	i = calloc(1, sizeof(*i));
	if (i == NULL) {
		VHD_ERRLOG("io_channel_for_each(%p): out of memory\n", io_device);
		return;
	}
	i->io_device = io_device;
	i->fn = fn;
	i->ctx = ctx;
	i->cpl = cpl;
	i->orig = tls_thread;

	pthread_mutex_lock(&g_thread_lock);
	i->dev = io_device_find(io_device);
	if (i->dev == NULL) {
		pthread_mutex_unlock(&g_thread_lock);
		VHD_ERRLOG("io_channel_for_each: io_device %p is not registered\n", io_device);
		i->status = -ENODEV;
		if (thread_send_msg_nofail(i->orig, io_channel_iter_done, i) != 0) {
			free(i);
		}
		return;
	}
	i->dev->iter_refs++;
	io_channel_iter_next(i, TAILQ_FIRST(&g_threads));
	pthread_mutex_unlock(&g_thread_lock);
}

void
io_channel_iter_continue(struct io_channel_iter *i, int status)
{
	struct io_channel *ch = i->ch;

	i->ch = NULL;
	if (ch != NULL) {
		io_channel_put(ch);
	}
	pthread_mutex_lock(&g_thread_lock);
	if (status != 0) {
		i->status = status;
		if (thread_send_msg_nofail(i->orig, io_channel_iter_done, i) != 0) {
			VHD_ERRLOG("io_channel_for_each(%s): cannot complete on %s\n",
				   i->dev->name, i->orig->name);
		}
	} else {
		io_channel_iter_next(i, TAILQ_NEXT(i->cur, glink));
	}
	pthread_mutex_unlock(&g_thread_lock);
}

struct io_channel *
io_channel_iter_get_channel(struct io_channel_iter *i)
{
	return i->ch;
}

void *
io_channel_iter_get_ctx(struct io_channel_iter *i)
{
	return i->ctx;
}

void *
io_channel_iter_get_io_device(struct io_channel_iter *i)
{
	return i->io_device;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reactors, lightweight threads, messages, pollers, interrupts and io_channels.
 *
 * One reactor per core of the cpumask, a pthread pinned to that core. A reactor
 * runs lightweight threads (struct thread). Every object belongs to exactly one
 * thread and is touched only there; other threads reach it with
 * thread_send_msg(). Work is done by pollers that return POLLER_BUSY or
 * POLLER_IDLE.
 *
 * Modes:
 *   REACTOR_MODE_POLL      spin; fd handlers are checked every ~1 ms.
 *   REACTOR_MODE_INTERRUPT sleep in epoll whenever an iteration found no work.
 *   REACTOR_MODE_ADAPTIVE  poll while busy, sleep after an idle spell (default).
 * Before a reactor sleeps it calls every poller's sleep_cb (if set): the
 * poller arms its notification (e.g. clears VRING_USED_F_NO_NOTIFY) and
 * returns false if work raced in, which cancels the sleep. Whatever wakes a
 * sleeping reactor must be an fd registered with thread_interrupt_register()
 * on one of its threads (messages, timers and thread creation are handled
 * internally).
 *
 * Unit tests drive threads by hand: thread_lib_init() without reactors,
 * thread_create(), then thread_poll() (see test/unit/common/ut_thread.h).
 */
#ifndef VHOSTD_THREAD_H
#define VHOSTD_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhostd/cpuset.h"

struct thread;
struct poller;
struct io_channel;
struct io_channel_iter;
struct thread_interrupt;

enum poller_rc {
	POLLER_IDLE = 0,
	POLLER_BUSY = 1,
};

enum reactor_mode {
	REACTOR_MODE_POLL = 0,
	REACTOR_MODE_INTERRUPT,
	REACTOR_MODE_ADAPTIVE,
};

typedef void (*thread_msg_fn)(void *ctx);
typedef int (*poller_fn)(void *ctx);
/* Called before the reactor sleeps; return false if work is pending (cancels the sleep). */
typedef bool (*poller_sleep_cb)(void *ctx);
/* Called on the owning thread when the fd is readable; returns POLLER_BUSY/IDLE. */
typedef int (*thread_interrupt_fn)(void *ctx);

/* ---- library / reactors ---------------------------------------------------------- */

/* Initialise thread bookkeeping (no reactors). 0 or -errno. */
int thread_lib_init(void);
/* Destroy every remaining thread (all must have exited). */
void thread_lib_fini(void);
/* Replace the clock (unit tests): returns microseconds. NULL restores the real clock. */
void thread_lib_set_clock(uint64_t (*now_us)(void));

/*
 * Create one reactor per cpu of `mask` (not started). The first reactor will run
 * on the thread that calls reactors_start(). 0 or -errno.
 */
int reactors_init(const struct cpuset *mask, enum reactor_mode mode);
/* Run the reactors; returns after reactors_stop() once every reactor has quit. */
void reactors_start(void);
/* Ask every reactor to stop (any thread, async-signal-unsafe). */
void reactors_stop(void);
void reactors_fini(void);
enum reactor_mode reactors_get_mode(void);
int reactor_mode_from_name(const char *name, enum reactor_mode *mode);
const char *reactor_mode_name(enum reactor_mode mode);
/* The cpumask given to reactors_init(). */
const struct cpuset *reactors_get_cpumask(void);

struct reactor_stats {
	uint32_t	lcore;
	int		tid;
	uint64_t	busy_ticks;
	uint64_t	idle_ticks;
	bool		in_interrupt;	/* currently asleep in epoll */
	uint64_t	sleeps;		/* times the reactor went to sleep */
};
/* Fill up to `max` entries (any thread; values are racy snapshots). Returns count. */
uint32_t reactors_get_stats(struct reactor_stats *stats, uint32_t max);
/* Call fn for every thread on reactor `lcore` (racy snapshot; control path only). */
void reactor_for_each_thread(uint32_t lcore, void (*fn)(struct thread *t, void *ctx), void *ctx);

/* ---- lightweight threads --------------------------------------------------------- */

/*
 * Create a thread placed on the least-loaded reactor within `mask` (NULL: all
 * reactors). Without reactors (unit tests), the thread is polled by hand.
 * Returns NULL on failure. Any thread may call it; the first thread created
 * is the app thread.
 */
struct thread *thread_create(const char *name, const struct cpuset *mask);
/*
 * Ask the current thread to exit: it is destroyed once it has no pollers, no
 * interrupts and no io_channels left and its message queue is empty.
 */
void thread_exit(struct thread *thread);
bool thread_is_exited(const struct thread *thread);
/* Destroy an exited thread that is polled by hand (unit tests). */
void thread_destroy(struct thread *thread);

struct thread *thread_get_current(void);
/*
 * Make `thread` (NULL: none) the current thread of the calling pthread outside
 * thread_poll(). Unit tests only (see ut_set_thread()); reactors set it themselves.
 */
void thread_set_current(struct thread *thread);
struct thread *thread_get_app(void);
const char *thread_get_name(const struct thread *thread);
uint64_t thread_get_id(const struct thread *thread);
const struct cpuset *thread_get_cpumask(const struct thread *thread);
/* The lcore of the reactor running it (0 without reactors). */
uint32_t thread_get_lcore(const struct thread *thread);

/*
 * One iteration on `thread` (unit tests and reactors): up to `max_msgs` messages
 * (0 = default batch), every active poller, expired timed pollers. Sets the
 * current thread for the duration. Returns POLLER_BUSY if anything did work.
 */
int thread_poll(struct thread *thread, uint32_t max_msgs);
/* True if the thread has queued messages. */
bool thread_has_msgs(const struct thread *thread);

/*
 * Run fn(ctx) on `thread`. Lock-free, callable from any thread (including
 * non-reactor threads such as rte_vhost's). 0, or -ENOMEM if the ring is full,
 * -EINVAL if the thread has been destroyed or exited.
 */
int thread_send_msg(struct thread *thread, thread_msg_fn fn, void *ctx);
/* Run fn on every thread in turn, then cpl on the calling thread. */
int thread_for_each(thread_msg_fn fn, void *ctx, thread_msg_fn cpl);

struct thread_stats {
	uint64_t	busy_ticks;
	uint64_t	idle_ticks;
	uint32_t	active_pollers;
	uint32_t	timed_pollers;
	uint32_t	paused_pollers;
	uint64_t	poller_runs;
	uint64_t	msgs_run;
};
void thread_get_stats(const struct thread *thread, struct thread_stats *stats);
/* Iterate all live threads (control path; holds the global list lock during fn). */
void thread_iterate(void (*fn)(struct thread *t, void *ctx), void *ctx);

/* ---- pollers --------------------------------------------------------------------- */

/* Register on the current thread. period_us 0: run every iteration. NULL on failure. */
struct poller *poller_register(poller_fn fn, void *ctx, uint64_t period_us, const char *name);
/* Unregister (on the owning thread; safe inside the poller itself). Sets *p to NULL. */
void poller_unregister(struct poller **p);
void poller_pause(struct poller *p);
void poller_resume(struct poller *p);
void poller_set_sleep_cb(struct poller *p, poller_sleep_cb cb);

/* ---- interrupts (fds that wake a sleeping reactor) ------------------------------- */

/*
 * Watch `fd` for readability on the current thread; fn runs there when it is
 * readable (the handler must drain the fd, e.g. read the eventfd). NULL on failure.
 */
struct thread_interrupt *thread_interrupt_register(int fd, thread_interrupt_fn fn, void *ctx,
						   const char *name);
void thread_interrupt_unregister(struct thread_interrupt **intr);
/* Helper: read and discard an eventfd's counter. */
void thread_eventfd_drain(int fd);

/* ---- io_devices and io_channels -------------------------------------------------- */

typedef int (*io_channel_create_cb)(void *io_device, void *ctx_buf);
typedef void (*io_channel_destroy_cb)(void *io_device, void *ctx_buf);
typedef void (*io_device_unregister_cb)(void *io_device);
typedef void (*io_channel_iter_fn)(struct io_channel_iter *i);
typedef void (*io_channel_iter_cpl)(struct io_channel_iter *i, int status);

/*
 * Make `io_device` (any unique pointer) a device with per-thread channels of
 * `ctx_size` bytes, created with create_cb on the thread that first gets one.
 */
void io_device_register(void *io_device, io_channel_create_cb create_cb,
			io_channel_destroy_cb destroy_cb, uint32_t ctx_size, const char *name);
/*
 * Unregister: no new channels; unregister_cb (optional) runs on the calling
 * thread once the last channel has been destroyed.
 */
void io_device_unregister(void *io_device, io_device_unregister_cb unregister_cb);

/* Get (or share, refcounted) the current thread's channel. NULL on failure. */
struct io_channel *io_channel_get(void *io_device);
/* Drop a reference; the channel is destroyed (deferred, on its thread) at zero. */
void io_channel_put(struct io_channel *ch);
void *io_channel_get_ctx(struct io_channel *ch);
struct io_channel *io_channel_from_ctx(void *ctx);
struct thread *io_channel_get_thread(struct io_channel *ch);
void *io_channel_get_io_device(struct io_channel *ch);

/*
 * Call fn on each thread that has a channel of io_device, one after another;
 * fn must call io_channel_iter_continue(i, status). A non-zero status stops
 * the walk. cpl runs on the calling thread with the final status.
 */
void io_channel_for_each(void *io_device, io_channel_iter_fn fn, void *ctx,
			 io_channel_iter_cpl cpl);
void io_channel_iter_continue(struct io_channel_iter *i, int status);
struct io_channel *io_channel_iter_get_channel(struct io_channel_iter *i);
void *io_channel_iter_get_ctx(struct io_channel_iter *i);
void *io_channel_iter_get_io_device(struct io_channel_iter *i);

#endif /* VHOSTD_THREAD_H */

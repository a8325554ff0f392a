/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/thread driven by hand: threads polled with ut_poll_threads(), fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/ut_thread.h"
#include "thread_internal.h"
#include "vhostd/log.h"
#include "vhostd/thread.h"

static int
setup3(void **state)
{
	ut_threads_init(3);
	return 0;
}

static int
teardown3(void **state)
{
	ut_threads_fini();
	return 0;
}

/* ---- threads and messages --------------------------------------------------------- */

static void
test_thread_create_basics(void **state)
{
	struct thread *t0 = ut_thread(0), *t1 = ut_thread(1);
	struct cpuset mask;

	assert_ptr_equal(thread_get_app(), t0);
	assert_ptr_equal(thread_get_current(), t0);
	assert_string_equal(thread_get_name(t1), "ut1");
	assert_true(thread_get_id(t1) > thread_get_id(t0));
	assert_int_equal(thread_get_lcore(t1), 0);
	assert_true(cpuset_get_cpu(thread_get_cpumask(t1), 0));
	assert_false(thread_is_exited(t1));
	assert_false(thread_has_msgs(t1));

	/* Without reactors the mask is only recorded. */
	assert_int_equal(cpuset_parse(&mask, "0x6"), 0);
	{
		struct thread *t = thread_create(NULL, &mask);

		assert_non_null(t);
		assert_string_equal(thread_get_name(t), "thread");
		assert_true(cpuset_equal(thread_get_cpumask(t), &mask));
		thread_set_current(t);
		thread_exit(t);
		ut_poll_threads();
		assert_true(thread_is_exited(t));
		thread_destroy(t);
		ut_set_thread(0);
	}
	/* Polling NULL is a no-op. */
	assert_int_equal(thread_poll(NULL, 0), POLLER_IDLE);
}

#define FIFO_MSGS 5000
static uint32_t g_fifo_next;
static bool g_fifo_ok = true;
static struct thread *g_fifo_ran_on;

static void
fifo_msg(void *ctx)
{
	uint32_t seq = (uint32_t)(uintptr_t)ctx;

	if (seq != g_fifo_next) {
		g_fifo_ok = false;
	}
	g_fifo_next++;
	g_fifo_ran_on = thread_get_current();
}

static void
test_thread_msg_fifo(void **state)
{
	struct thread_stats st;
	uint32_t i;

	g_fifo_next = 0;
	for (i = 0; i < FIFO_MSGS; i++) {
		assert_int_equal(thread_send_msg(ut_thread(1), fifo_msg, (void *)(uintptr_t)i), 0);
	}
	assert_true(thread_has_msgs(ut_thread(1)));
	/* A batch of at most max_msgs per poll. */
	assert_int_equal(thread_poll(ut_thread(1), 10), POLLER_BUSY);
	assert_int_equal(g_fifo_next, 10);
	assert_ptr_equal(g_fifo_ran_on, ut_thread(1));
	/* thread_poll restores the caller's current thread. */
	assert_ptr_equal(thread_get_current(), ut_thread(0));
	ut_poll_threads();
	assert_int_equal(g_fifo_next, FIFO_MSGS);
	assert_true(g_fifo_ok);
	assert_false(thread_has_msgs(ut_thread(1)));
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.msgs_run, FIFO_MSGS);
	assert_int_equal(thread_poll(ut_thread(1), 0), POLLER_IDLE);
}

static uint32_t g_count;

static void
count_msg(void *ctx)
{
	g_count++;
}

static void
test_thread_msg_ring_full(void **state)
{
	uint32_t sent = 0;
	int rc;

	g_count = 0;
	for (;;) {
		rc = thread_send_msg(ut_thread(2), count_msg, NULL);
		if (rc != 0) {
			break;
		}
		sent++;
	}
	assert_int_equal(rc, -ENOMEM);
	assert_int_equal(sent, THREAD_MSG_RING_SIZE);
	/* Still full. */
	assert_int_equal(thread_send_msg(ut_thread(2), count_msg, NULL), -ENOMEM);
	/* One slot freed: one more fits. */
	thread_poll(ut_thread(2), 1);
	assert_int_equal(thread_send_msg(ut_thread(2), count_msg, NULL), 0);
	assert_int_equal(thread_send_msg(ut_thread(2), count_msg, NULL), -ENOMEM);
	ut_poll_threads();
	assert_int_equal(g_count, THREAD_MSG_RING_SIZE + 1);
	/* The ring wraps cleanly. */
	for (sent = 0; sent < 3 * THREAD_MSG_RING_SIZE / 2; sent++) {
		assert_int_equal(thread_send_msg(ut_thread(2), count_msg, NULL), 0);
		if (sent % 1000 == 999) {
			ut_poll_threads();
		}
	}
	ut_poll_threads();
	assert_int_equal(g_count, THREAD_MSG_RING_SIZE + 1 + 3 * THREAD_MSG_RING_SIZE / 2);
}

static void
test_thread_send_msg_errors(void **state)
{
	struct thread *t;

	assert_int_equal(thread_send_msg(NULL, count_msg, NULL), -EINVAL);
	assert_int_equal(thread_send_msg(ut_thread(1), NULL, NULL), -EINVAL);

	t = thread_create("short", NULL);
	assert_non_null(t);
	thread_set_current(t);
	thread_exit(t);
	ut_set_thread(0);
	/* Exiting: still accepts messages (teardown often needs them). */
	g_count = 0;
	assert_int_equal(thread_send_msg(t, count_msg, NULL), 0);
	assert_false(thread_is_exited(t));
	ut_poll_threads();
	assert_int_equal(g_count, 1);
	assert_true(thread_is_exited(t));
	assert_int_equal(thread_send_msg(t, count_msg, NULL), -EINVAL);
	thread_destroy(t);
}

/* ---- pollers ---------------------------------------------------------------------- */

struct poller_ctx {
	uint32_t	runs;
	int		rc;
	struct poller	*self;
	struct poller	*other;
	bool		unregister_self;
	bool		unregister_other;
	bool		pause_self;
	uint64_t	last_run_us;
	struct thread	*ran_on;
};

static int
poller_cb(void *arg)
{
	struct poller_ctx *c = arg;

	c->runs++;
	c->last_run_us = ut_get_time_us();
	c->ran_on = thread_get_current();
	if (c->unregister_other) {
		poller_unregister(&c->other);
	}
	if (c->pause_self) {
		poller_pause(c->self);
	}
	if (c->unregister_self) {
		poller_unregister(&c->self);
	}
	return c->rc;
}

static void
test_poller_active(void **state)
{
	struct poller_ctx a = {.rc = POLLER_IDLE}, b = {.rc = POLLER_BUSY};
	struct thread_stats st;

	ut_set_thread(1);
	a.self = poller_register(poller_cb, &a, 0, "a");
	assert_non_null(a.self);
	ut_set_thread(0);
	assert_int_equal(ut_poll_thread(1), POLLER_IDLE);
	assert_int_equal(ut_poll_thread(1), POLLER_IDLE);
	assert_int_equal(a.runs, 2);
	assert_ptr_equal(a.ran_on, ut_thread(1));

	ut_set_thread(1);
	b.self = poller_register(poller_cb, &b, 0, "b");
	ut_set_thread(0);
	assert_int_equal(ut_poll_thread(1), POLLER_BUSY);
	assert_int_equal(a.runs, 3);
	assert_int_equal(b.runs, 1);

	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.active_pollers, 2);
	assert_int_equal(st.timed_pollers, 0);
	assert_int_equal(st.poller_runs, 4);
	assert_true(st.busy_ticks > 0);
	assert_true(st.idle_ticks > 0);

	ut_set_thread(1);
	poller_unregister(&a.self);
	poller_unregister(&b.self);
	assert_null(a.self);
	poller_unregister(&a.self);	/* NULL: no-op */
	ut_set_thread(0);
	ut_poll_threads();
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.active_pollers, 0);
	assert_int_equal(a.runs, 3);
}

/* A busy poller's message to its own thread (a deferred completion) runs in the same poll. */
static int
self_msg_poller(void *ctx)
{
	struct poller_ctx *c = ctx;

	if (c->runs++ > 0) {
		return POLLER_IDLE;
	}
	assert_int_equal(thread_send_msg(thread_get_current(), count_msg, NULL), 0);
	return POLLER_BUSY;
}

static int
self_msg_idle_poller(void *ctx)
{
	struct poller_ctx *c = ctx;

	if (c->runs++ == 0) {
		assert_int_equal(thread_send_msg(thread_get_current(), count_msg, NULL), 0);
	}
	return POLLER_IDLE;
}

static void
test_poller_busy_self_msg_same_poll(void **state)
{
	struct poller_ctx a = {0}, b = {0};

	g_count = 0;
	ut_set_thread(1);
	a.self = poller_register(self_msg_poller, &a, 0, "self_msg");
	assert_non_null(a.self);
	ut_set_thread(0);
	assert_int_equal(ut_poll_thread(1), POLLER_BUSY);
	assert_int_equal(a.runs, 1);
	assert_int_equal(g_count, 1);	/* ran before the poll returned */
	ut_set_thread(1);
	poller_unregister(&a.self);

	/* An idle poller's message waits for the next poll, as any message. */
	b.self = poller_register(self_msg_idle_poller, &b, 0, "self_msg_idle");
	ut_set_thread(0);
	assert_int_equal(ut_poll_thread(1), POLLER_IDLE);
	assert_int_equal(g_count, 1);
	assert_int_equal(ut_poll_thread(1), POLLER_BUSY);
	assert_int_equal(g_count, 2);
	ut_set_thread(1);
	poller_unregister(&b.self);
	ut_set_thread(0);
	ut_poll_threads();
}

static void
test_poller_timed(void **state)
{
	struct poller_ctx a = {0}, b = {0};
	struct thread_stats st;

	ut_set_time_us(1000);
	ut_set_thread(1);
	a.self = poller_register(poller_cb, &a, 100, "a");
	b.self = poller_register(poller_cb, &b, 250, "b");
	ut_set_thread(0);
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.timed_pollers, 2);

	ut_poll_threads();
	assert_int_equal(a.runs, 0);
	ut_advance_time_us(99);
	ut_poll_threads();
	assert_int_equal(a.runs, 0);
	ut_advance_time_us(1);
	ut_poll_threads();
	assert_int_equal(a.runs, 1);
	assert_int_equal(a.last_run_us, 1100);
	assert_int_equal(b.runs, 0);

	/* Late: runs once, next expiry counted from now (no catch-up burst). */
	ut_advance_time_us(1000);	/* now 2100 */
	ut_poll_threads();
	assert_int_equal(a.runs, 2);
	assert_int_equal(b.runs, 1);
	ut_advance_time_us(99);
	ut_poll_threads();
	assert_int_equal(a.runs, 2);
	ut_advance_time_us(1);
	ut_poll_threads();
	assert_int_equal(a.runs, 3);
	assert_int_equal(b.runs, 1);
	ut_advance_time_us(150);	/* 2350 = 2100 + 250; a due at 2300 too */
	ut_poll_threads();
	assert_int_equal(b.runs, 2);
	assert_int_equal(a.runs, 4);

	ut_set_thread(1);
	poller_unregister(&a.self);
	poller_unregister(&b.self);
	ut_set_thread(0);
	ut_advance_time_us(10000);
	ut_poll_threads();
	assert_int_equal(a.runs, 4);
	assert_int_equal(b.runs, 2);
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.timed_pollers, 0);
}

static uint32_t g_order[8];
static uint32_t g_order_n;

static int
order_cb(void *arg)
{
	g_order[g_order_n++] = (uint32_t)(uintptr_t)arg;
	return POLLER_BUSY;
}

static void
test_poller_timed_order(void **state)
{
	struct poller *p[4];

	/* Expiries 300, 100, 200, 100: run in expiry order, ties in registration order. */
	ut_set_time_us(0);
	ut_set_thread(1);
	p[0] = poller_register(order_cb, (void *)0, 300, "p0");
	p[1] = poller_register(order_cb, (void *)1, 100, "p1");
	p[2] = poller_register(order_cb, (void *)2, 200, "p2");
	p[3] = poller_register(order_cb, (void *)3, 100, "p3");
	ut_set_thread(0);
	g_order_n = 0;
	ut_set_time_us(300);
	ut_poll_thread(1);
	assert_int_equal(g_order_n, 4);
	assert_int_equal(g_order[0], 1);
	assert_int_equal(g_order[1], 3);
	assert_int_equal(g_order[2], 2);
	assert_int_equal(g_order[3], 0);
	ut_set_thread(1);
	for (int i = 0; i < 4; i++) {
		poller_unregister(&p[i]);
	}
	ut_set_thread(0);
	ut_poll_threads();
}

static void
test_poller_pause_resume(void **state)
{
	struct poller_ctx a = {0}, t = {0};
	struct thread_stats st;

	ut_set_time_us(0);
	ut_set_thread(1);
	a.self = poller_register(poller_cb, &a, 0, "active");
	t.self = poller_register(poller_cb, &t, 10, "timed");
	poller_pause(a.self);
	poller_pause(t.self);
	poller_pause(t.self);	/* twice: no-op */
	ut_set_thread(0);
	ut_advance_time_us(100);
	ut_poll_threads();
	assert_int_equal(a.runs, 0);
	assert_int_equal(t.runs, 0);
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.paused_pollers, 2);
	assert_int_equal(st.active_pollers, 0);
	assert_int_equal(st.timed_pollers, 0);

	ut_set_thread(1);
	poller_resume(a.self);
	poller_resume(t.self);
	poller_resume(t.self);	/* twice: no-op */
	ut_set_thread(0);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 1);
	assert_int_equal(t.runs, 0);	/* period counts from the resume */
	ut_advance_time_us(10);
	ut_poll_thread(1);
	assert_int_equal(t.runs, 1);

	/* Pause from inside the callback. */
	a.pause_self = true;
	t.pause_self = true;
	ut_advance_time_us(10);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 3);
	assert_int_equal(t.runs, 2);
	ut_advance_time_us(10);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 3);
	assert_int_equal(t.runs, 2);
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.paused_pollers, 2);

	/* Pause then resume before the thread polls: keeps running. */
	a.pause_self = false;
	ut_set_thread(1);
	poller_resume(a.self);
	poller_pause(a.self);
	poller_resume(a.self);
	ut_set_thread(0);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 4);

	/* Unregister a paused poller. */
	ut_set_thread(1);
	poller_unregister(&a.self);
	poller_unregister(&t.self);
	ut_set_thread(0);
	ut_poll_threads();
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.paused_pollers + st.active_pollers + st.timed_pollers, 0);
	poller_pause(NULL);
	poller_resume(NULL);
}

static void
test_poller_unregister_in_callback(void **state)
{
	struct poller_ctx a = {0}, b = {0}, c = {0}, t = {0};
	struct thread_stats st;

	ut_set_time_us(0);
	ut_set_thread(1);
	a.self = poller_register(poller_cb, &a, 0, "a");
	b.self = poller_register(poller_cb, &b, 0, "b");
	c.self = poller_register(poller_cb, &c, 0, "c");
	t.self = poller_register(poller_cb, &t, 5, "t");
	ut_set_thread(0);
	/* a removes b (next in the list) and itself; c keeps running. */
	a.other = b.self;
	a.unregister_other = true;
	a.unregister_self = true;
	t.unregister_self = true;
	ut_advance_time_us(5);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 0);
	assert_int_equal(c.runs, 1);
	assert_int_equal(t.runs, 1);
	assert_null(a.self);
	assert_null(t.self);
	ut_advance_time_us(50);
	ut_poll_thread(1);
	assert_int_equal(a.runs, 1);
	assert_int_equal(t.runs, 1);
	assert_int_equal(c.runs, 2);
	thread_get_stats(ut_thread(1), &st);
	assert_int_equal(st.active_pollers, 1);
	assert_int_equal(st.timed_pollers, 0);
	ut_set_thread(1);
	poller_unregister(&c.self);
	ut_set_thread(0);
	ut_poll_threads();
}

static void
test_poller_register_errors(void **state)
{
	struct poller *p;

	thread_set_current(NULL);
	assert_null(poller_register(poller_cb, NULL, 0, "x"));
	ut_set_thread(1);
	assert_null(poller_register(NULL, NULL, 0, "x"));
	ut_set_thread(0);
	{
		struct thread *t = thread_create("exiting", NULL);

		thread_set_current(t);
		thread_exit(t);
		p = poller_register(poller_cb, NULL, 0, "x");
		assert_null(p);
		ut_set_thread(0);
		ut_poll_threads();
		assert_true(thread_is_exited(t));
		thread_destroy(t);
	}
}

/* ---- thread_exit -------------------------------------------------------------------- */

static int g_dev;
static int g_create_calls, g_destroy_calls, g_create_rc;
static struct thread *g_destroy_thread;

static int
ch_create(void *io_device, void *ctx)
{
	g_create_calls++;
	memset(ctx, 0xab, 32);
	return g_create_rc;
}

static void
ch_destroy(void *io_device, void *ctx)
{
	g_destroy_calls++;
	g_destroy_thread = thread_get_current();
}

static void
test_thread_exit_waits(void **state)
{
	struct poller_ctx a = {0};
	struct thread_interrupt *intr;
	struct io_channel *ch;
	struct thread *t;
	int efd = eventfd(0, EFD_NONBLOCK);

	io_device_register(&g_dev, ch_create, ch_destroy, 32, "dev");
	t = thread_create("x", NULL);
	thread_set_current(t);
	a.self = poller_register(poller_cb, &a, 0, "a");
	ch = io_channel_get(&g_dev);
	assert_non_null(ch);
	intr = thread_interrupt_register(efd, (thread_interrupt_fn)poller_cb, &a, "efd");
	assert_non_null(intr);
	thread_exit(t);
	thread_exit(t);	/* twice is fine */
	ut_set_thread(0);
	ut_poll_threads();
	assert_false(thread_is_exited(t));
	/* Destroying a thread that has not exited is refused. */
	thread_destroy(t);

	thread_set_current(t);
	poller_unregister(&a.self);
	ut_set_thread(0);
	ut_poll_threads();
	assert_false(thread_is_exited(t));

	thread_set_current(t);
	thread_interrupt_unregister(&intr);
	assert_null(intr);
	ut_set_thread(0);
	ut_poll_threads();
	assert_false(thread_is_exited(t));

	/* No new channel on an exiting thread; the existing one is still shared. */
	thread_set_current(t);
	assert_ptr_equal(io_channel_get(&g_dev), ch);
	io_channel_put(ch);
	{
		static int other;

		io_device_register(&other, NULL, NULL, 0, "other");
		assert_null(io_channel_get(&other));
		io_device_unregister(&other, NULL);
	}
	io_channel_put(ch);
	ut_set_thread(0);
	ut_poll_threads();
	assert_true(thread_is_exited(t));
	assert_int_equal(g_destroy_calls, 1);
	thread_destroy(t);
	io_device_unregister(&g_dev, NULL);
	ut_poll_threads();
	close(efd);
	g_create_calls = g_destroy_calls = 0;
}

/* ---- io_devices and channels --------------------------------------------------------- */

static int g_unreg_calls;
static struct thread *g_unreg_thread;

static void
unreg_cb(void *io_device)
{
	assert_ptr_equal(io_device, &g_dev);
	g_unreg_calls++;
	g_unreg_thread = thread_get_current();
}

static void
test_io_channel_refcount(void **state)
{
	struct io_channel *ch1, *ch2, *ch3;
	unsigned char *ctx;

	g_create_calls = g_destroy_calls = 0;
	g_create_rc = 0;
	io_device_register(&g_dev, ch_create, ch_destroy, 32, "dev");
	io_device_register(&g_dev, ch_create, ch_destroy, 32, "dup");	/* ignored */

	ut_set_thread(1);
	ch1 = io_channel_get(&g_dev);
	ch2 = io_channel_get(&g_dev);
	assert_non_null(ch1);
	assert_ptr_equal(ch1, ch2);
	assert_int_equal(g_create_calls, 1);
	ctx = io_channel_get_ctx(ch1);
	assert_int_equal(ctx[31], 0xab);
	assert_int_equal((uintptr_t)ctx % 64, 0);
	assert_ptr_equal(io_channel_from_ctx(ctx), ch1);
	assert_ptr_equal(io_channel_get_thread(ch1), ut_thread(1));
	assert_ptr_equal(io_channel_get_io_device(ch1), &g_dev);

	ut_set_thread(2);
	ch3 = io_channel_get(&g_dev);
	assert_ptr_not_equal(ch3, ch1);
	assert_int_equal(g_create_calls, 2);

	/* Drop to zero: destroyed later, on its thread, by message. */
	ut_set_thread(1);
	io_channel_put(ch1);
	io_channel_put(ch2);
	assert_int_equal(g_destroy_calls, 0);
	/* Got back before the deferred destroy ran: the channel survives. */
	ch1 = io_channel_get(&g_dev);
	assert_ptr_equal(ch1, ch2);
	io_channel_put(ch1);
	ch1 = io_channel_get(&g_dev);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(g_destroy_calls, 0);
	assert_int_equal(g_create_calls, 2);

	ut_set_thread(1);
	io_channel_put(ch1);
	io_channel_put(ch1);	/* one too many: refused */
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(g_destroy_calls, 1);
	assert_ptr_equal(g_destroy_thread, ut_thread(1));

	ut_set_thread(2);
	io_channel_put(ch3);
	io_channel_put(NULL);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(g_destroy_calls, 2);
	assert_ptr_equal(g_destroy_thread, ut_thread(2));
	io_device_unregister(&g_dev, NULL);
	ut_poll_threads();
}

static void
test_io_channel_get_errors(void **state)
{
	g_unreg_calls = 0;
	/* Unknown device. */
	assert_null(io_channel_get(&g_dev));
	/* No current thread. */
	io_device_register(&g_dev, ch_create, ch_destroy, 32, "dev");
	thread_set_current(NULL);
	assert_null(io_channel_get(&g_dev));
	ut_set_thread(0);
	/* create_cb fails: no channel, the device still unregisters. */
	g_create_rc = -ENOMEM;
	g_create_calls = 0;
	assert_null(io_channel_get(&g_dev));
	assert_int_equal(g_create_calls, 1);
	g_create_rc = 0;
	io_device_unregister(&g_dev, unreg_cb);
	/* Deferred even when nothing holds it. */
	assert_int_equal(g_unreg_calls, 0);
	ut_poll_threads();
	assert_int_equal(g_unreg_calls, 1);
	/* Unregistering an unknown device is logged and ignored. */
	io_device_unregister(&g_dev, unreg_cb);
	ut_poll_threads();
	assert_int_equal(g_unreg_calls, 1);
	io_device_register(NULL, NULL, NULL, 0, "null");
}

static void
test_io_device_unregister_waits(void **state)
{
	struct io_channel *ch1, *ch2;

	g_unreg_calls = 0;
	g_destroy_calls = 0;
	io_device_register(&g_dev, ch_create, ch_destroy, 16, "dev");
	ut_set_thread(1);
	ch1 = io_channel_get(&g_dev);
	ut_set_thread(2);
	ch2 = io_channel_get(&g_dev);

	ut_set_thread(0);
	io_device_unregister(&g_dev, unreg_cb);
	/* No new channels once unregistered, even on a thread that had none. */
	assert_null(io_channel_get(&g_dev));
	ut_poll_threads();
	assert_int_equal(g_unreg_calls, 0);

	ut_set_thread(1);
	io_channel_put(ch1);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(g_unreg_calls, 0);
	assert_int_equal(g_destroy_calls, 1);

	ut_set_thread(2);
	io_channel_put(ch2);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(g_destroy_calls, 2);
	assert_int_equal(g_unreg_calls, 1);
	/* On the thread that unregistered. */
	assert_ptr_equal(g_unreg_thread, ut_thread(0));

	/* The pointer can be registered again. */
	io_device_register(&g_dev, NULL, NULL, 0, "again");
	ut_set_thread(1);
	ch1 = io_channel_get(&g_dev);
	assert_non_null(ch1);
	io_channel_put(ch1);
	ut_set_thread(0);
	io_device_unregister(&g_dev, NULL);
	ut_poll_threads();
}

struct iter_ctx {
	uint32_t	visited;
	struct thread	*visited_on[8];
	int		stop_at;	/* 1-based visit that fails; 0: none */
	bool		async;		/* continue from a message instead of inline */
	int		cpl_status;
	uint32_t	cpl_calls;
	struct thread	*cpl_thread;
};

static void
iter_continue_msg(void *arg)
{
	io_channel_iter_continue(arg, 0);
}

static void
iter_fn(struct io_channel_iter *i)
{
	struct iter_ctx *c = io_channel_iter_get_ctx(i);
	struct io_channel *ch = io_channel_iter_get_channel(i);

	assert_ptr_equal(io_channel_iter_get_io_device(i), &g_dev);
	assert_ptr_equal(io_channel_get_thread(ch), thread_get_current());
	c->visited_on[c->visited++] = thread_get_current();
	if (c->stop_at != 0 && (int)c->visited == c->stop_at) {
		io_channel_iter_continue(i, -EIO);
	} else if (c->async) {
		thread_send_msg(thread_get_current(), iter_continue_msg, i);
	} else {
		io_channel_iter_continue(i, 0);
	}
}

static void
iter_cpl(struct io_channel_iter *i, int status)
{
	struct iter_ctx *c = io_channel_iter_get_ctx(i);

	c->cpl_status = status;
	c->cpl_calls++;
	c->cpl_thread = thread_get_current();
}

static void
test_io_channel_for_each(void **state)
{
	struct io_channel *ch[3];
	struct iter_ctx c;
	uint32_t i;

	g_destroy_calls = 0;
	io_device_register(&g_dev, ch_create, ch_destroy, 8, "dev");
	for (i = 0; i < 3; i++) {
		ut_set_thread(i);
		ch[i] = io_channel_get(&g_dev);
	}

	/* Every thread with a channel, in turn; cpl on the caller. */
	memset(&c, 0, sizeof(c));
	ut_set_thread(1);
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	assert_int_equal(c.visited, 0);	/* never inline */
	ut_poll_threads();
	assert_int_equal(c.visited, 3);
	assert_ptr_equal(c.visited_on[0], ut_thread(0));
	assert_ptr_equal(c.visited_on[1], ut_thread(1));
	assert_ptr_equal(c.visited_on[2], ut_thread(2));
	assert_int_equal(c.cpl_calls, 1);
	assert_int_equal(c.cpl_status, 0);
	assert_ptr_equal(c.cpl_thread, ut_thread(1));

	/* Asynchronous continue. */
	memset(&c, 0, sizeof(c));
	c.async = true;
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	ut_poll_threads();
	assert_int_equal(c.visited, 3);
	assert_int_equal(c.cpl_status, 0);

	/* A non-zero status stops the walk. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	ut_poll_threads();
	assert_int_equal(c.visited, 2);
	assert_int_equal(c.cpl_calls, 1);
	assert_int_equal(c.cpl_status, -EIO);

	/* Threads without a channel are skipped. */
	ut_set_thread(1);
	io_channel_put(ch[1]);
	ut_poll_threads();
	memset(&c, 0, sizeof(c));
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	ut_poll_threads();
	assert_int_equal(c.visited, 2);
	assert_ptr_equal(c.visited_on[0], ut_thread(0));
	assert_ptr_equal(c.visited_on[1], ut_thread(2));

	/* The walk's reference keeps refcounts intact. */
	assert_int_equal(g_destroy_calls, 1);

	/* Unregistered while a walk is in flight: unregister_cb waits for both. */
	g_unreg_calls = 0;
	memset(&c, 0, sizeof(c));
	c.async = true;
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	io_device_unregister(&g_dev, unreg_cb);
	ut_set_thread(0);
	io_channel_put(ch[0]);
	ut_set_thread(2);
	io_channel_put(ch[2]);
	ut_set_thread(1);
	ut_poll_threads();
	assert_int_equal(c.cpl_calls, 1);
	assert_int_equal(g_unreg_calls, 1);

	/* Unknown device: cpl with -ENODEV, still deferred. */
	memset(&c, 0, sizeof(c));
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	assert_int_equal(c.cpl_calls, 0);
	ut_poll_threads();
	assert_int_equal(c.cpl_calls, 1);
	assert_int_equal(c.cpl_status, -ENODEV);
	assert_int_equal(c.visited, 0);

	/* No channels at all: cpl with 0. */
	io_device_register(&g_dev, NULL, NULL, 0, "empty");
	memset(&c, 0, sizeof(c));
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	ut_poll_threads();
	assert_int_equal(c.cpl_calls, 1);
	assert_int_equal(c.cpl_status, 0);
	io_device_unregister(&g_dev, NULL);
	ut_poll_threads();
}

static struct thread *g_each_seen[8];
static uint32_t g_each_n, g_each_cpl;
static struct thread *g_each_cpl_thread;

static void
each_fn(void *ctx)
{
	assert_ptr_equal(ctx, &g_each_n);
	g_each_seen[g_each_n++] = thread_get_current();
}

static void
each_cpl(void *ctx)
{
	g_each_cpl++;
	g_each_cpl_thread = thread_get_current();
}

static void
test_thread_for_each(void **state)
{
	g_each_n = g_each_cpl = 0;
	ut_set_thread(2);
	assert_int_equal(thread_for_each(each_fn, &g_each_n, each_cpl), 0);
	assert_int_equal(g_each_n, 0);
	ut_poll_threads();
	assert_int_equal(g_each_n, 3);
	assert_ptr_equal(g_each_seen[0], ut_thread(0));
	assert_ptr_equal(g_each_seen[1], ut_thread(1));
	assert_ptr_equal(g_each_seen[2], ut_thread(2));
	assert_int_equal(g_each_cpl, 1);
	assert_ptr_equal(g_each_cpl_thread, ut_thread(2));

	assert_int_equal(thread_for_each(NULL, NULL, NULL), -EINVAL);
	thread_set_current(NULL);
	assert_int_equal(thread_for_each(each_fn, NULL, NULL), -EINVAL);
	ut_set_thread(0);
}

static void
test_walks_survive_full_ring(void **state)
{
	struct io_channel *ch;
	struct iter_ctx c;
	uint32_t sent = 0;

	g_destroy_calls = 0;
	io_device_register(&g_dev, ch_create, ch_destroy, 8, "dev");
	ut_set_thread(1);
	ch = io_channel_get(&g_dev);
	ut_set_thread(0);
	g_count = 0;
	while (thread_send_msg(ut_thread(1), count_msg, NULL) == 0) {
		sent++;
	}
	assert_int_equal(sent, THREAD_MSG_RING_SIZE);

	/* Walk steps, completions and deferred destroys are never lost to a full ring. */
	g_each_n = g_each_cpl = 0;
	assert_int_equal(thread_for_each(each_fn, &g_each_n, each_cpl), 0);
	memset(&c, 0, sizeof(c));
	io_channel_for_each(&g_dev, iter_fn, &c, iter_cpl);
	assert_true(thread_has_msgs(ut_thread(1)));
	ut_poll_threads();
	assert_int_equal(g_count, THREAD_MSG_RING_SIZE);
	assert_int_equal(g_each_n, 3);
	assert_int_equal(g_each_cpl, 1);
	assert_int_equal(c.visited, 1);
	assert_int_equal(c.cpl_calls, 1);

	while (thread_send_msg(ut_thread(1), count_msg, NULL) == 0) {
	}
	ut_set_thread(1);
	io_channel_put(ch);
	ut_set_thread(0);
	assert_int_equal(g_destroy_calls, 0);
	ut_poll_threads();
	assert_int_equal(g_destroy_calls, 1);
	io_device_unregister(&g_dev, NULL);
	ut_poll_threads();
}

/* ---- interrupts without reactors -------------------------------------------------------- */

struct intr_ctx {
	int			fd;
	uint32_t		runs;
	struct thread		*ran_on;
	struct thread_interrupt	*intr;
	bool			unregister;
};

static int
intr_cb(void *arg)
{
	struct intr_ctx *c = arg;

	thread_eventfd_drain(c->fd);
	c->runs++;
	c->ran_on = thread_get_current();
	if (c->unregister) {
		thread_interrupt_unregister(&c->intr);
	}
	return POLLER_BUSY;
}

static void
test_interrupt_hand_polled(void **state)
{
	struct intr_ctx a = {0}, b = {0};
	uint64_t one = 1;

	a.fd = eventfd(0, EFD_NONBLOCK);
	b.fd = eventfd(0, EFD_NONBLOCK);
	ut_set_thread(1);
	a.intr = thread_interrupt_register(a.fd, intr_cb, &a, "a");
	b.intr = thread_interrupt_register(b.fd, intr_cb, &b, "b");
	assert_non_null(a.intr);
	assert_null(thread_interrupt_register(-1, intr_cb, &a, "bad"));
	assert_null(thread_interrupt_register(a.fd, NULL, &a, "nofn"));
	/* Same fd twice on one thread: epoll refuses. */
	assert_null(thread_interrupt_register(a.fd, intr_cb, &a, "dup"));
	ut_set_thread(0);
	assert_int_equal(ut_poll_thread(1), POLLER_IDLE);

	assert_int_equal(write(a.fd, &one, sizeof(one)), 8);
	ut_poll_threads();
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 0);
	assert_ptr_equal(a.ran_on, ut_thread(1));

	/* Both ready; the first handler unregisters itself and must not break the batch. */
	a.unregister = true;
	assert_int_equal(write(a.fd, &one, sizeof(one)), 8);
	assert_int_equal(write(b.fd, &one, sizeof(one)), 8);
	ut_poll_threads();
	assert_int_equal(a.runs, 2);
	assert_int_equal(b.runs, 1);
	assert_null(a.intr);
	assert_int_equal(write(a.fd, &one, sizeof(one)), 8);
	ut_poll_threads();
	assert_int_equal(a.runs, 2);

	ut_set_thread(1);
	thread_interrupt_unregister(&b.intr);
	thread_interrupt_unregister(&b.intr);	/* NULL: no-op */
	ut_set_thread(0);
	thread_set_current(NULL);
	assert_null(thread_interrupt_register(b.fd, intr_cb, &b, "nothread"));
	ut_set_thread(0);
	close(a.fd);
	close(b.fd);
}

/* Closed before unregistered, number reused by a newer registration: that one survives. */
static void
test_interrupt_fd_reuse(void **state)
{
	struct intr_ctx a = {0}, b = {0};
	uint64_t one = 1;

	a.fd = eventfd(0, EFD_NONBLOCK);
	ut_set_thread(1);
	a.intr = thread_interrupt_register(a.fd, intr_cb, &a, "old");
	close(a.fd);
	b.fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(b.fd, a.fd);
	b.intr = thread_interrupt_register(b.fd, intr_cb, &b, "new");
	assert_non_null(b.intr);
	thread_interrupt_unregister(&a.intr);
	ut_set_thread(0);
	assert_int_equal(write(b.fd, &one, sizeof(one)), 8);
	ut_poll_threads();
	assert_int_equal(a.runs, 0);
	assert_int_equal(b.runs, 1);
	ut_set_thread(1);
	thread_interrupt_unregister(&b.intr);
	ut_set_thread(0);
	close(b.fd);
}

static int
intr_exit_cb(void *arg)
{
	struct intr_ctx *c = arg;

	thread_eventfd_drain(c->fd);
	c->runs++;
	thread_interrupt_unregister(&c->intr);
	thread_exit(thread_get_current());
	return POLLER_BUSY;
}

static void
test_interrupt_handler_exits_thread(void **state)
{
	struct intr_ctx a = {0};
	struct thread *t = thread_create("intr_exit", NULL);
	uint64_t one = 1;

	a.fd = eventfd(0, EFD_NONBLOCK);
	thread_set_current(t);
	a.intr = thread_interrupt_register(a.fd, intr_exit_cb, &a, "a");
	assert_non_null(a.intr);
	ut_set_thread(0);
	assert_int_equal(write(a.fd, &one, sizeof(one)), 8);
	/* One iteration: the handler is the thread's last act. */
	assert_int_equal(thread_poll(t, 0), POLLER_BUSY);
	assert_int_equal(a.runs, 1);
	assert_true(thread_is_exited(t));
	thread_destroy(t);
	close(a.fd);
}

/* ---- placement over reactors (not started) --------------------------------------------- */

static void
test_thread_placement(void **state)
{
	struct cpuset mask, one, none;
	struct thread *t[5];
	uint32_t on0 = 0, on1 = 0, i;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 2) {
		skip();
	}
	assert_int_equal(thread_lib_init(), 0);
	assert_int_equal(cpuset_parse(&mask, "0x3"), 0);
	assert_int_equal(reactors_init(&mask, REACTOR_MODE_POLL), 0);
	assert_int_equal(reactors_init(&mask, REACTOR_MODE_POLL), -EBUSY);
	assert_true(cpuset_equal(reactors_get_cpumask(), &mask));
	assert_int_equal(reactors_get_mode(), REACTOR_MODE_POLL);

	/* Least loaded first: alternates between the two reactors. */
	for (i = 0; i < 4; i++) {
		t[i] = thread_create("p", NULL);
		assert_non_null(t[i]);
		if (thread_get_lcore(t[i]) == 0) {
			on0++;
		} else {
			on1++;
		}
	}
	assert_int_equal(on0, 2);
	assert_int_equal(on1, 2);
	assert_int_equal(thread_get_lcore(t[0]), 0);
	assert_ptr_equal(thread_get_app(), t[0]);
	/* Restricted mask. */
	assert_int_equal(cpuset_parse(&one, "0x2"), 0);
	t[4] = thread_create("only1", &one);
	assert_non_null(t[4]);
	assert_int_equal(thread_get_lcore(t[4]), 1);
	assert_true(cpuset_equal(thread_get_cpumask(t[4]), &one));
	/* A mask with no reactor. */
	assert_int_equal(cpuset_parse(&none, "0x4"), 0);
	assert_null(thread_create("nowhere", &none));

	{
		struct reactor_stats st[4];

		assert_int_equal(reactors_get_stats(st, 4), 2);
		assert_int_equal(st[0].lcore, 0);
		assert_int_equal(st[1].lcore, 1);
		assert_int_equal(st[0].sleeps, 0);
		assert_int_equal(reactors_get_stats(st, 1), 1);
	}
	reactors_fini();
	/* Threads left on reactors become hand-polled. */
	for (i = 0; i < 5; i++) {
		thread_set_current(t[i]);
		thread_exit(t[i]);
		thread_poll(t[i], 0);
		assert_true(thread_is_exited(t[i]));
		thread_destroy(t[i]);
	}
	thread_lib_fini();
}

static void
test_reactor_init_errors(void **state)
{
	struct cpuset mask;
	enum reactor_mode m;

	cpuset_zero(&mask);
	assert_int_equal(reactors_init(&mask, REACTOR_MODE_POLL), -EINVAL);
	assert_int_equal(reactors_init(NULL, REACTOR_MODE_POLL), -EINVAL);
	cpuset_set_cpu(&mask, 1000, true);
	assert_int_equal(reactors_init(&mask, REACTOR_MODE_POLL), -EINVAL);
	assert_int_equal(cpuset_parse(&mask, "0x1"), 0);
	assert_int_equal(reactors_init(&mask, (enum reactor_mode)7), -EINVAL);

	assert_int_equal(reactor_mode_from_name("poll", &m), 0);
	assert_int_equal(m, REACTOR_MODE_POLL);
	assert_int_equal(reactor_mode_from_name("Interrupt", &m), 0);
	assert_int_equal(m, REACTOR_MODE_INTERRUPT);
	assert_int_equal(reactor_mode_from_name("adaptive", &m), 0);
	assert_int_equal(m, REACTOR_MODE_ADAPTIVE);
	assert_int_equal(reactor_mode_from_name("spin", &m), -EINVAL);
	assert_int_equal(reactor_mode_from_name(NULL, &m), -EINVAL);
	assert_string_equal(reactor_mode_name(REACTOR_MODE_ADAPTIVE), "adaptive");
	assert_string_equal(reactor_mode_name((enum reactor_mode)9), "unknown");
	/* Not initialised: start returns at once, fini is a no-op. */
	reactors_start();
	reactors_fini();
}

static void
test_thread_lib_fini_leftovers(void **state)
{
	struct poller_ctx a = {0};
	struct thread *t;

	assert_int_equal(thread_lib_init(), 0);
	t = thread_create("left", NULL);
	thread_set_current(t);
	a.self = poller_register(poller_cb, &a, 0, "a");
	assert_non_null(a.self);
	io_device_register(&g_dev, NULL, NULL, 16, "left_dev");
	assert_non_null(io_channel_get(&g_dev));
	/* Frees the thread, its poller and channel, the device (ASan checks for leaks). */
	thread_lib_fini();
	/* The device pointer is free again. */
	t = thread_create("again", NULL);
	thread_set_current(t);
	io_device_register(&g_dev, NULL, NULL, 16, "again");
	assert_non_null(io_channel_get(&g_dev));
	thread_lib_fini();
	assert_null(thread_get_current());
	assert_null(thread_get_app());
}

static void
test_thread_thread_component(void **state)
{
	assert_int_equal(log_set_flag("thread", true), 0);
	assert_true(log_get_flag("thread"));
	log_set_level(LOG_LEVEL_DEBUG);
	ut_poll_threads();
	log_set_level(LOG_LEVEL_NOTICE);
	assert_int_equal(log_set_flag("thread", false), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thread_create_basics, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_thread_msg_fifo, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_thread_msg_ring_full, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_thread_send_msg_errors, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_poller_active, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_poller_busy_self_msg_same_poll, setup3,
						teardown3),
		cmocka_unit_test_setup_teardown(test_poller_timed, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_poller_timed_order, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_poller_pause_resume, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_poller_unregister_in_callback, setup3,
						teardown3),
		cmocka_unit_test_setup_teardown(test_poller_register_errors, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_thread_exit_waits, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_io_channel_refcount, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_io_channel_get_errors, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_io_device_unregister_waits, setup3,
						teardown3),
		cmocka_unit_test_setup_teardown(test_io_channel_for_each, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_thread_for_each, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_walks_survive_full_ring, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_interrupt_hand_polled, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_interrupt_fd_reuse, setup3, teardown3),
		cmocka_unit_test_setup_teardown(test_interrupt_handler_exits_thread, setup3,
						teardown3),
		cmocka_unit_test_setup_teardown(test_thread_thread_component, setup3, teardown3),
		cmocka_unit_test(test_thread_placement),
		cmocka_unit_test(test_reactor_init_errors),
		cmocka_unit_test(test_thread_lib_fini_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

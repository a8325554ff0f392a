/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/thread on real reactors (two pinned pthreads on cpus 0 and 1): message
 * storms across reactors in every mode, interrupt-mode sleep and wake-up,
 * idle CPU use, sleep_cb, fd handlers in poll mode. Skips (passes vacuously,
 * with a message) on a machine with fewer than two cpus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#define WAIT_MS 20000
/*
 * A wake-up must arrive within this bound. It proves no wake-up is lost (a
 * lost one never arrives: nothing else wakes these reactors), not speed: the
 * figures are printed, and the machine may be heavily loaded.
 */
#define WAKE_BOUND_US 2000000ull

static pthread_t g_runner;
static bool g_have_two_cpus;
static bool g_started;

static void *
runner_main(void *arg)
{
	reactors_start();
	return NULL;
}

static void
start_reactors(enum reactor_mode mode)
{
	struct cpuset mask;

	assert_int_equal(thread_lib_init(), 0);
	assert_int_equal(cpuset_parse(&mask, "0x3"), 0);
	assert_int_equal(reactors_init(&mask, mode), 0);
	assert_int_equal(pthread_create(&g_runner, NULL, runner_main, NULL), 0);
	g_started = true;
}

static struct thread *
create_on(const char *name, uint32_t cpu)
{
	struct cpuset mask;
	struct thread *t;

	cpuset_zero(&mask);
	cpuset_set_cpu(&mask, cpu, true);
	t = thread_create(name, &mask);
	assert_non_null(t);
	assert_int_equal(thread_get_lcore(t), cpu);
	return t;
}

static void
count_thread(struct thread *t, void *ctx)
{
	(*(uint32_t *)ctx)++;
}

static uint32_t
thread_count(void)
{
	uint32_t n = 0;

	thread_iterate(count_thread, &n);
	return n;
}

static bool
wait_until(bool (*cond)(void *), void *ctx, uint32_t timeout_ms)
{
	uint64_t end = util_now_us() + (uint64_t)timeout_ms * 1000;

	while (!cond(ctx)) {
		if (util_now_us() > end) {
			return false;
		}
		usleep(200);
	}
	return true;
}

static bool
no_threads(void *ctx)
{
	return thread_count() == 0;
}

static void
exit_msg(void *ctx)
{
	thread_exit(thread_get_current());
}

static void
send_exit(struct thread *t, void *ctx)
{
	thread_send_msg(t, exit_msg, NULL);
}

/* Every thread exits; the reactors destroy them; then stop and tear down. */
static void
stop_reactors(void)
{
	thread_iterate(send_exit, NULL);
	assert_true(wait_until(no_threads, NULL, WAIT_MS));
	reactors_stop();
	pthread_join(g_runner, NULL);
	g_started = false;
	reactors_fini();
	thread_lib_fini();
}

/* After a failed test: stop whatever is left so the next test starts clean. */
static int
teardown_reactors(void **state)
{
	if (g_started) {
		reactors_stop();
		pthread_join(g_runner, NULL);
		g_started = false;
		reactors_fini();
		thread_lib_fini();
	}
	return 0;
}

static uint64_t
process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
get_stats(struct reactor_stats st[2])
{
	assert_int_equal(reactors_get_stats(st, 2), 2);
}

/* ---- a message storm between reactors, plus a foreign pthread ------------------------- */

#define STORM_FROM_A 300000u
#define STORM_FROM_EXT 100000u
#define EXT_TAG (1ull << 62)

struct storm {
	struct thread	*a;
	struct thread	*b;
	struct poller	*sender;
	uint64_t	sent_a;
	/* Written on B only. */
	uint64_t	next_a;
	uint64_t	next_ext;
	uint64_t	received;
	bool		order_ok;
	uint32_t	enomem;
};

static struct storm g_storm;

static void
storm_recv(void *ctx)
{
	uint64_t v = (uint64_t)(uintptr_t)ctx;

	if (v & EXT_TAG) {
		if ((v & ~EXT_TAG) != g_storm.next_ext) {
			g_storm.order_ok = false;
		}
		g_storm.next_ext++;
	} else {
		if (v != g_storm.next_a) {
			g_storm.order_ok = false;
		}
		g_storm.next_a++;
	}
	__atomic_store_n(&g_storm.received, g_storm.received + 1, __ATOMIC_RELEASE);
}

static int
storm_send_poller(void *ctx)
{
	uint32_t i;

	for (i = 0; i < 256 && g_storm.sent_a < STORM_FROM_A; i++) {
		void *seq = (void *)(uintptr_t)g_storm.sent_a;

		if (thread_send_msg(g_storm.b, storm_recv, seq) != 0) {
			g_storm.enomem++;
			break;
		}
		g_storm.sent_a++;
	}
	if (g_storm.sent_a == STORM_FROM_A) {
		poller_unregister(&g_storm.sender);
	}
	return POLLER_BUSY;
}

static void
storm_start(void *ctx)
{
	g_storm.sender = poller_register(storm_send_poller, NULL, 0, "storm");
	assert_non_null(g_storm.sender);
}

static bool
storm_done(void *ctx)
{
	return __atomic_load_n(&g_storm.received, __ATOMIC_ACQUIRE) ==
	       STORM_FROM_A + STORM_FROM_EXT;
}

static void
run_storm(enum reactor_mode mode)
{
	struct reactor_stats st[2];
	uint64_t i, t0;
	double secs;

	if (!g_have_two_cpus) {
		skip();
	}
	memset(&g_storm, 0, sizeof(g_storm));
	g_storm.order_ok = true;
	start_reactors(mode);
	g_storm.a = create_on("storm_a", 0);
	g_storm.b = create_on("storm_b", 1);
	t0 = util_get_ticks();
	assert_int_equal(thread_send_msg(g_storm.a, storm_start, NULL), 0);
	/* A second producer that is no reactor at all. */
	for (i = 0; i < STORM_FROM_EXT; i++) {
		void *seq = (void *)(uintptr_t)(i | EXT_TAG);

		while (thread_send_msg(g_storm.b, storm_recv, seq) != 0) {
			sched_yield();
		}
	}
	assert_true(wait_until(storm_done, NULL, WAIT_MS));
	secs = (double)(util_get_ticks() - t0) / 1e9;
	print_message("%s: %u messages in %.3f s (%.0f msg/s), ring full %u times\n",
		      reactor_mode_name(mode), STORM_FROM_A + STORM_FROM_EXT, secs,
		      (STORM_FROM_A + STORM_FROM_EXT) / secs, g_storm.enomem);
	assert_true(g_storm.order_ok);
	assert_int_equal(g_storm.next_a, STORM_FROM_A);
	assert_int_equal(g_storm.next_ext, STORM_FROM_EXT);
	get_stats(st);
	assert_int_equal(st[0].lcore, 0);
	assert_int_equal(st[1].lcore, 1);
	assert_true(st[0].tid > 0);
	assert_true(st[1].tid > 0);
	assert_true(st[0].busy_ticks > 0);
	assert_true(st[1].busy_ticks > 0);
	if (mode == REACTOR_MODE_POLL) {
		assert_int_equal(st[0].sleeps + st[1].sleeps, 0);
	}
	stop_reactors();
}

static void
test_reactor_storm_poll(void **state)
{
	run_storm(REACTOR_MODE_POLL);
}

static void
test_reactor_storm_interrupt(void **state)
{
	run_storm(REACTOR_MODE_INTERRUPT);
}

static void
test_reactor_storm_adaptive(void **state)
{
	run_storm(REACTOR_MODE_ADAPTIVE);
}

/* ---- sleeping and waking ------------------------------------------------------------------ */

static uint64_t g_wake_ticks;
static struct thread *g_wake_ran_on;

static void
wake_msg(void *ctx)
{
	g_wake_ran_on = thread_get_current();
	__atomic_store_n(&g_wake_ticks, util_get_ticks(), __ATOMIC_RELEASE);
}

static bool
woke(void *ctx)
{
	return __atomic_load_n(&g_wake_ticks, __ATOMIC_ACQUIRE) != 0;
}

static bool
both_asleep(void *ctx)
{
	struct reactor_stats st[2];

	get_stats(st);
	return st[0].in_interrupt && st[1].in_interrupt && st[0].sleeps > 0 && st[1].sleeps > 0;
}

/* Max latency (us) of `n` messages from this (non-reactor) pthread to a sleeping reactor. */
static uint64_t
measure_wake_us(struct thread *t, int n)
{
	uint64_t max = 0, sent, lat;
	int i;

	for (i = 0; i < n; i++) {
		assert_true(wait_until(both_asleep, NULL, WAIT_MS));
		__atomic_store_n(&g_wake_ticks, 0, __ATOMIC_RELEASE);
		sent = util_get_ticks();
		assert_int_equal(thread_send_msg(t, wake_msg, NULL), 0);
		assert_true(wait_until(woke, NULL, WAIT_MS));
		assert_ptr_equal(g_wake_ran_on, t);
		lat = (__atomic_load_n(&g_wake_ticks, __ATOMIC_ACQUIRE) - sent) / 1000;
		max = VHD_MAX(max, lat);
	}
	return max;
}

/* CPU used by the whole process over `ms` of idleness, in percent of one cpu. */
static double
idle_cpu_percent(uint32_t ms)
{
	uint64_t c0 = process_cpu_ns(), w0 = util_get_ticks();

	usleep(ms * 1000);
	return 100.0 * (double)(process_cpu_ns() - c0) / (double)(util_get_ticks() - w0);
}

struct timed_ctx {
	struct poller	*p;
	uint32_t	runs;
};

static struct timed_ctx g_timed;

static int
timed_cb(void *ctx)
{
	__atomic_fetch_add(&g_timed.runs, 1, __ATOMIC_RELAXED);
	return POLLER_IDLE;
}

static void
timed_start(void *ctx)
{
	g_timed.p = poller_register(timed_cb, NULL, 20000, "timed20ms");
}

static void
timed_stop(void *ctx)
{
	poller_unregister(&g_timed.p);
}

struct efd_ctx {
	int			fd;
	struct thread_interrupt	*intr;
	uint32_t		runs;
	struct thread		*ran_on;
	uint32_t		spin_us;	/* the handler's work per run */
};

static struct efd_ctx g_efd;

static int
efd_cb(void *ctx)
{
	uint64_t t0 = util_now_us();

	thread_eventfd_drain(g_efd.fd);
	while (util_now_us() - t0 < g_efd.spin_us) {
	}
	g_efd.ran_on = thread_get_current();
	__atomic_fetch_add(&g_efd.runs, 1, __ATOMIC_RELEASE);
	return POLLER_BUSY;
}

static void
efd_start(void *ctx)
{
	g_efd.intr = thread_interrupt_register(g_efd.fd, efd_cb, NULL, "efd");
	__atomic_store_n(&g_efd.runs, 0, __ATOMIC_RELEASE);
}

static void
efd_stop(void *ctx)
{
	thread_interrupt_unregister(&g_efd.intr);
	__atomic_store_n(&g_efd.runs, 1000, __ATOMIC_RELEASE);
}

static bool
efd_ran(void *ctx)
{
	return __atomic_load_n(&g_efd.runs, __ATOMIC_ACQUIRE) == *(uint32_t *)ctx;
}

/* Ready fd -> handler on its thread within `bound_ms`. */
static void
check_fd_wakes(struct thread *t, uint32_t bound_ms)
{
	uint64_t one = 1, t0;
	uint32_t want = 0, stopped = 1000;

	g_efd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(g_efd.fd >= 0);
	__atomic_store_n(&g_efd.runs, 1000, __ATOMIC_RELEASE);
	assert_int_equal(thread_send_msg(t, efd_start, NULL), 0);
	assert_true(wait_until(efd_ran, &want, WAIT_MS));
	t0 = util_now_us();
	assert_int_equal(write(g_efd.fd, &one, sizeof(one)), 8);
	want = 1;
	assert_true(wait_until(efd_ran, &want, WAIT_MS));
	print_message("fd handler ran %" PRIu64 " us after the write\n", util_now_us() - t0);
	assert_true(util_now_us() - t0 < bound_ms * 1000ull);
	assert_ptr_equal(g_efd.ran_on, t);
	assert_int_equal(thread_send_msg(t, efd_stop, NULL), 0);
	assert_true(wait_until(efd_ran, &stopped, WAIT_MS));
	close(g_efd.fd);
}

/*
 * Work done by an fd handler of a sleeping reactor is busy time, for the
 * reactor (framework_get_reactors) and for its thread (thread_get_stats).
 * It used to be counted as neither: a reactor serving every request from a
 * wake-up looked idle.
 */
#define SPIN_RUNS	20
#define SPIN_US		500

static void
test_reactor_interrupt_handler_time_counts(void **state)
{
	struct reactor_stats st0[2], st1[2];
	struct thread_stats ts0, ts1;
	const uint64_t hz = util_get_ticks_hz();
	uint64_t one = 1, want_ticks = SPIN_RUNS * SPIN_US * hz / 1000000 / 2;
	uint32_t i, want = 0, stopped = 1000;
	struct thread *b;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_INTERRUPT);
	create_on("a", 0);
	b = create_on("b", 1);
	g_efd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(g_efd.fd >= 0);
	g_efd.spin_us = SPIN_US;
	__atomic_store_n(&g_efd.runs, 1000, __ATOMIC_RELEASE);
	assert_int_equal(thread_send_msg(b, efd_start, NULL), 0);
	assert_true(wait_until(efd_ran, &want, WAIT_MS));
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	get_stats(st0);
	thread_get_stats(b, &ts0);
	for (i = 0; i < SPIN_RUNS; i++) {
		assert_int_equal(write(g_efd.fd, &one, sizeof(one)), 8);
		want = i + 1;
		assert_true(wait_until(efd_ran, &want, WAIT_MS));
		usleep(1000);
	}
	get_stats(st1);
	thread_get_stats(b, &ts1);
	print_message("interrupt mode, %u handler runs of %u us: reactor busy +%" PRIu64
		      " us, thread busy +%" PRIu64 " us\n", SPIN_RUNS, SPIN_US,
		      (st1[1].busy_ticks - st0[1].busy_ticks) * 1000000 / hz,
		      (ts1.busy_ticks - ts0.busy_ticks) * 1000000 / hz);
	/* At least half of the spinning: a loaded machine may preempt the handler. */
	assert_true(st1[1].busy_ticks - st0[1].busy_ticks >= want_ticks);
	assert_true(ts1.busy_ticks - ts0.busy_ticks >= want_ticks);
	assert_int_equal(thread_send_msg(b, efd_stop, NULL), 0);
	assert_true(wait_until(efd_ran, &stopped, WAIT_MS));
	close(g_efd.fd);
	g_efd.spin_us = 0;
	stop_reactors();
}

static void
test_reactor_interrupt_sleeps_and_wakes(void **state)
{
	struct reactor_stats st[2];
	struct thread *a, *b;
	uint64_t max_us, sleeps0;
	double cpu;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_INTERRUPT);
	/* Threads created after start: adopted by sleeping reactors. */
	usleep(20000);
	a = create_on("a", 0);
	b = create_on("b", 1);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));

	cpu = idle_cpu_percent(300);
	print_message("interrupt mode, idle: %.3f%% cpu\n", cpu);
	assert_true(cpu < 1.0);

	max_us = measure_wake_us(b, 20);
	print_message("interrupt mode: max wake latency %" PRIu64 " us\n", max_us);
	assert_true(max_us < WAKE_BOUND_US);
	max_us = measure_wake_us(a, 5);
	assert_true(max_us < WAKE_BOUND_US);

	/* A timed poller wakes the reactor through its timerfd, and nothing else does. */
	get_stats(st);
	sleeps0 = st[1].sleeps;
	__atomic_store_n(&g_timed.runs, 0, __ATOMIC_RELAXED);
	assert_int_equal(thread_send_msg(b, timed_start, NULL), 0);
	cpu = idle_cpu_percent(210);
	assert_int_equal(thread_send_msg(b, timed_stop, NULL), 0);
	print_message("interrupt mode, 20 ms timer: %u runs in 210 ms, %.3f%% cpu\n",
		      __atomic_load_n(&g_timed.runs, __ATOMIC_RELAXED), cpu);
	assert_true(__atomic_load_n(&g_timed.runs, __ATOMIC_RELAXED) >= 5);
	assert_true(__atomic_load_n(&g_timed.runs, __ATOMIC_RELAXED) <= 11);
	assert_true(cpu < 2.0);
	get_stats(st);
	assert_true(st[1].sleeps >= sleeps0 + __atomic_load_n(&g_timed.runs, __ATOMIC_RELAXED));

	check_fd_wakes(a, WAKE_BOUND_US / 1000);
	stop_reactors();
}

static void
test_reactor_adaptive_idle(void **state)
{
	double cpu;
	struct thread *b;
	uint64_t max_us;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_ADAPTIVE);
	create_on("a", 0);
	b = create_on("b", 1);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	cpu = idle_cpu_percent(300);
	print_message("adaptive mode, idle: %.3f%% cpu\n", cpu);
	assert_true(cpu < 1.0);
	max_us = measure_wake_us(b, 10);
	print_message("adaptive mode: max wake latency %" PRIu64 " us\n", max_us);
	assert_true(max_us < WAKE_BOUND_US);
	check_fd_wakes(b, WAKE_BOUND_US / 1000);
	stop_reactors();
}

/* ---- busy pollers keep adaptive reactors awake; sleep_cb can veto a sleep ------------------ */

struct busy_ctx {
	struct poller	*p;
	bool		stop;
	uint64_t	runs;
	uint32_t	vetoes_left;
	uint32_t	sleep_calls;
	bool		done;
};

static struct busy_ctx g_busy;

static int
busy_cb(void *ctx)
{
	if (__atomic_load_n(&g_busy.stop, __ATOMIC_RELAXED)) {
		return POLLER_IDLE;
	}
	__atomic_store_n(&g_busy.runs, g_busy.runs + 1, __ATOMIC_RELAXED);
	return POLLER_BUSY;
}

static bool
busy_sleep_cb(void *ctx)
{
	__atomic_fetch_add(&g_busy.sleep_calls, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&g_busy.vetoes_left, __ATOMIC_RELAXED) > 0) {
		__atomic_fetch_sub(&g_busy.vetoes_left, 1, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

static void
busy_start(void *ctx)
{
	g_busy.p = poller_register(busy_cb, NULL, 0, "busy");
	poller_set_sleep_cb(g_busy.p, busy_sleep_cb);
}

static void
busy_stop(void *ctx)
{
	poller_unregister(&g_busy.p);
	__atomic_store_n(&g_busy.done, true, __ATOMIC_RELEASE);
}

static bool
busy_done(void *ctx)
{
	return __atomic_load_n(&g_busy.done, __ATOMIC_ACQUIRE);
}

static bool
busy_running(void *ctx)
{
	return __atomic_load_n(&g_busy.runs, __ATOMIC_RELAXED) >= 1000;
}

static void
test_reactor_adaptive_busy_then_sleep(void **state)
{
	struct reactor_stats st[2];
	struct thread *b;
	uint64_t sleeps0, runs0;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_ADAPTIVE);
	create_on("a", 0);
	b = create_on("b", 1);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	memset(&g_busy, 0, sizeof(g_busy));
	g_busy.vetoes_left = 1000;
	assert_int_equal(thread_send_msg(b, busy_start, NULL), 0);
	assert_true(wait_until(busy_running, NULL, WAIT_MS));

	/* While a poller reports work, an adaptive reactor never sleeps. */
	get_stats(st);
	sleeps0 = st[1].sleeps;
	runs0 = __atomic_load_n(&g_busy.runs, __ATOMIC_RELAXED);
	usleep(50000);
	get_stats(st);
	assert_int_equal(st[1].sleeps, sleeps0);
	assert_false(st[1].in_interrupt);
	assert_true(__atomic_load_n(&g_busy.runs, __ATOMIC_RELAXED) > runs0);
	assert_int_equal(__atomic_load_n(&g_busy.sleep_calls, __ATOMIC_RELAXED), 0);

	/* Idle now, but the sleep_cb vetoes 1000 times before it lets it sleep. */
	__atomic_store_n(&g_busy.stop, true, __ATOMIC_RELAXED);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	get_stats(st);
	assert_true(st[1].sleeps > sleeps0);
	assert_true(__atomic_load_n(&g_busy.sleep_calls, __ATOMIC_RELAXED) >= 1001);
	assert_int_equal(__atomic_load_n(&g_busy.vetoes_left, __ATOMIC_RELAXED), 0);
	assert_int_equal(thread_send_msg(b, busy_stop, NULL), 0);
	assert_true(wait_until(busy_done, NULL, WAIT_MS));
	stop_reactors();
}

/* ---- adaptive: sparse work sleeps between requests, dense work keeps polling --------------- */

#define SPARSE_MSGS	400
#define SPARSE_GAP_US	100

static uint32_t g_sparse_runs;

static void
sparse_msg(void *ctx)
{
	__atomic_fetch_add(&g_sparse_runs, 1, __ATOMIC_RELAXED);
}

static bool
sparse_all_ran(void *ctx)
{
	return __atomic_load_n(&g_sparse_runs, __ATOMIC_RELAXED) == *(uint32_t *)ctx;
}

/* A message ping-pong between the two reactors: each side answers at once (dense). */
static uint32_t g_pp_left;
static struct thread *g_pp_a, *g_pp_b;

static void pp_to_a(void *ctx);

static void
pp_to_b(void *ctx)
{
	if (__atomic_sub_fetch(&g_pp_left, 1, __ATOMIC_RELAXED) > 0) {
		thread_send_msg(g_pp_a, pp_to_a, NULL);
	}
}

static void
pp_to_a(void *ctx)
{
	thread_send_msg(g_pp_b, pp_to_b, NULL);
}

static bool
pp_done(void *ctx)
{
	return __atomic_load_n(&g_pp_left, __ATOMIC_RELAXED) == 0;
}

static void
test_reactor_adaptive_sparse_sleeps(void **state)
{
	struct reactor_stats st[2];
	struct thread *b;
	uint64_t sleeps0, t0, awake0;
	uint32_t i, n = SPARSE_MSGS;
	double cpu;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_ADAPTIVE);
	g_pp_a = create_on("a", 0);
	b = g_pp_b = create_on("b", 1);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));

	/*
	 * One message every 100 us: far apart, so reactor 1 sleeps between
	 * them (the 1 ms idle spell alone would keep it polling throughout).
	 * Asserted loosely (1 in 8): on a loaded machine messages bunch up.
	 */
	__atomic_store_n(&g_sparse_runs, 0, __ATOMIC_RELAXED);
	get_stats(st);
	sleeps0 = st[1].sleeps;
	awake0 = st[1].busy_ticks + st[1].idle_ticks;
	t0 = process_cpu_ns();
	for (i = 0; i < n; i++) {
		assert_int_equal(thread_send_msg(b, sparse_msg, NULL), 0);
		usleep(SPARSE_GAP_US);
	}
	assert_true(wait_until(sparse_all_ran, &n, WAIT_MS));
	cpu = (double)(process_cpu_ns() - t0) / 1e3 / n;
	get_stats(st);
	print_message("adaptive mode, a message every %u us: %" PRIu64 " sleeps for %u messages, "
		      "reactor awake %.1f us per message, process cpu %.1f us per message "
		      "(sender included)\n", SPARSE_GAP_US, st[1].sleeps - sleeps0, n,
		      (double)(st[1].busy_ticks + st[1].idle_ticks - awake0) / 1e3 / n, cpu);
	assert_true(st[1].sleeps - sleeps0 >= n / 8);

	/* Dense: an immediate ping-pong does not sleep between its messages. */
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	get_stats(st);
	sleeps0 = st[0].sleeps + st[1].sleeps;
	__atomic_store_n(&g_pp_left, 20000, __ATOMIC_RELAXED);
	assert_int_equal(thread_send_msg(g_pp_b, pp_to_b, NULL), 0);
	assert_true(wait_until(pp_done, NULL, WAIT_MS));
	get_stats(st);
	print_message("adaptive mode, 20000 ping-pong messages: %" PRIu64 " sleeps\n",
		      st[0].sleeps + st[1].sleeps - sleeps0);
	/* Sparse handling would sleep once per message on each side (~20000). */
	assert_true(st[0].sleeps + st[1].sleeps - sleeps0 < 10000);
	stop_reactors();
}

/*
 * Sparse work that takes several busy iterations each time (a request popped,
 * then its completion delivered by a message a few iterations later): only
 * the gap before each burst counts, so it still sleeps between bursts. When
 * the zero gaps inside a burst were averaged in, 4 busy iterations per
 * message made a 100 us rate look dense and the reactor polled throughout.
 */
#define BURST_ITERS	4

static struct poller *g_burst_poller;
static uint32_t g_burst_left;
static uint32_t g_burst_done;

static int
burst_poll(void *ctx)
{
	if (g_burst_left == 0) {
		return POLLER_IDLE;
	}
	/* Bursts that bunch up run back to back: count each one's last iteration. */
	if (--g_burst_left % BURST_ITERS == 0) {
		__atomic_fetch_add(&g_burst_done, 1, __ATOMIC_RELAXED);
	}
	return POLLER_BUSY;
}

static void
burst_msg(void *ctx)
{
	if (g_burst_poller == NULL) {
		g_burst_poller = poller_register(burst_poll, NULL, 0, "burst");
	}
	g_burst_left += BURST_ITERS;
}

static void
burst_stop(void *ctx)
{
	poller_unregister(&g_burst_poller);
	__atomic_store_n(&g_burst_done, UINT32_MAX, __ATOMIC_RELEASE);
}

static bool
burst_all_done(void *ctx)
{
	return __atomic_load_n(&g_burst_done, __ATOMIC_RELAXED) >= *(uint32_t *)ctx;
}

static void
test_reactor_adaptive_sparse_bursts(void **state)
{
	struct reactor_stats st[2];
	struct thread *b;
	uint64_t sleeps0;
	uint32_t i, n = SPARSE_MSGS, all = UINT32_MAX;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_ADAPTIVE);
	create_on("a", 0);
	b = create_on("b", 1);
	assert_true(wait_until(both_asleep, NULL, WAIT_MS));
	g_burst_poller = NULL;
	g_burst_left = 0;
	__atomic_store_n(&g_burst_done, 0, __ATOMIC_RELAXED);
	get_stats(st);
	sleeps0 = st[1].sleeps;
	for (i = 0; i < n; i++) {
		assert_int_equal(thread_send_msg(b, burst_msg, NULL), 0);
		usleep(SPARSE_GAP_US);
	}
	assert_true(wait_until(burst_all_done, &n, WAIT_MS));
	get_stats(st);
	print_message("adaptive mode, a %u-iteration burst every %u us: %" PRIu64
		      " sleeps for %u bursts\n", BURST_ITERS, SPARSE_GAP_US,
		      st[1].sleeps - sleeps0, n);
	/* Loosely, as above: on a loaded machine bursts bunch up. */
	assert_true(st[1].sleeps - sleeps0 >= n / 8);
	assert_int_equal(thread_send_msg(b, burst_stop, NULL), 0);
	assert_true(wait_until(burst_all_done, &all, WAIT_MS));
	stop_reactors();
}

static void
test_reactor_poll_mode_fds(void **state)
{
	struct reactor_stats st[2];
	struct thread *a;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_POLL);
	a = create_on("a", 0);
	create_on("b", 1);
	usleep(50000);
	/* fd handlers still run (checked about every millisecond). */
	check_fd_wakes(a, WAKE_BOUND_US / 1000);
	get_stats(st);
	assert_int_equal(st[0].sleeps + st[1].sleeps, 0);
	assert_false(st[0].in_interrupt);
	assert_true(st[0].idle_ticks > 0);
	stop_reactors();
}

/* reactor_for_each_thread and threads created from a reactor thread. */
static uint32_t g_on_reactor1;

static void
count_on(struct thread *t, void *ctx)
{
	(*(uint32_t *)ctx)++;
}

static struct thread *g_child;

static void
create_child(void *ctx)
{
	struct cpuset mask;

	cpuset_zero(&mask);
	cpuset_set_cpu(&mask, 1, true);
	__atomic_store_n(&g_child, thread_create("child", &mask), __ATOMIC_RELEASE);
}

static bool
child_ready(void *ctx)
{
	return __atomic_load_n(&g_child, __ATOMIC_ACQUIRE) != NULL;
}

static void
test_reactor_thread_from_thread(void **state)
{
	struct thread *a;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_INTERRUPT);
	a = create_on("a", 0);
	g_child = NULL;
	assert_int_equal(thread_send_msg(a, create_child, NULL), 0);
	assert_true(wait_until(child_ready, NULL, WAIT_MS));
	assert_int_equal(thread_get_lcore(g_child), 1);
	__atomic_store_n(&g_wake_ticks, 0, __ATOMIC_RELEASE);
	assert_int_equal(thread_send_msg(g_child, wake_msg, NULL), 0);
	assert_true(wait_until(woke, NULL, WAIT_MS));
	assert_ptr_equal(g_wake_ran_on, g_child);
	g_on_reactor1 = 0;
	reactor_for_each_thread(1, count_on, &g_on_reactor1);
	assert_int_equal(g_on_reactor1, 1);
	stop_reactors();
}

/* io_channels and walks across reactors. */
static int g_rdev;
static uint32_t g_rdev_creates, g_rdev_destroys, g_rdev_visits, g_rdev_unreg;
static struct thread *g_rdev_cpl_thread, *g_rdev_unreg_thread;
static int g_rdev_cpl_status = 1;

static int
rdev_create(void *dev, void *ctx)
{
	__atomic_fetch_add(&g_rdev_creates, 1, __ATOMIC_RELAXED);
	*(struct thread **)ctx = thread_get_current();
	return 0;
}

static void
rdev_destroy(void *dev, void *ctx)
{
	__atomic_fetch_add(&g_rdev_destroys, 1, __ATOMIC_RELEASE);
}

static void
rdev_get(void *ctx)
{
	*(struct io_channel **)ctx = io_channel_get(&g_rdev);
}

static void
rdev_put(void *ctx)
{
	io_channel_put(*(struct io_channel **)ctx);
}

static void
rdev_visit(struct io_channel_iter *i)
{
	struct io_channel *ch = io_channel_iter_get_channel(i);

	assert_ptr_equal(*(struct thread **)io_channel_get_ctx(ch), thread_get_current());
	__atomic_fetch_add(&g_rdev_visits, 1, __ATOMIC_RELAXED);
	io_channel_iter_continue(i, 0);
}

static void
rdev_cpl(struct io_channel_iter *i, int status)
{
	g_rdev_cpl_thread = thread_get_current();
	__atomic_store_n(&g_rdev_cpl_status, status, __ATOMIC_RELEASE);
}

static void
rdev_walk(void *ctx)
{
	io_channel_for_each(&g_rdev, rdev_visit, NULL, rdev_cpl);
}

static void
rdev_unreg_cb(void *dev)
{
	g_rdev_unreg_thread = thread_get_current();
	__atomic_store_n(&g_rdev_unreg, 1, __ATOMIC_RELEASE);
}

static void
rdev_unregister(void *ctx)
{
	io_device_unregister(&g_rdev, rdev_unreg_cb);
}

static bool
u32_at_least(void *ctx)
{
	return __atomic_load_n((uint32_t *)ctx, __ATOMIC_ACQUIRE) >= 3;
}

static bool
walk_done(void *ctx)
{
	return __atomic_load_n(&g_rdev_cpl_status, __ATOMIC_ACQUIRE) != 1;
}

static bool
unreg_done(void *ctx)
{
	return __atomic_load_n(&g_rdev_unreg, __ATOMIC_ACQUIRE) != 0;
}

static void
test_reactor_io_channels_across_reactors(void **state)
{
	struct io_channel *ch[3] = {NULL};
	struct thread *t[3];
	uint32_t i;

	if (!g_have_two_cpus) {
		skip();
	}
	start_reactors(REACTOR_MODE_INTERRUPT);
	t[0] = create_on("a", 0);
	t[1] = create_on("b", 1);
	t[2] = create_on("c", 1);
	io_device_register(&g_rdev, rdev_create, rdev_destroy, sizeof(struct thread *), "rdev");
	for (i = 0; i < 3; i++) {
		assert_int_equal(thread_send_msg(t[i], rdev_get, &ch[i]), 0);
	}
	assert_true(wait_until(u32_at_least, &g_rdev_creates, WAIT_MS));
	assert_int_equal(thread_send_msg(t[0], rdev_walk, NULL), 0);
	assert_true(wait_until(walk_done, NULL, WAIT_MS));
	assert_int_equal(g_rdev_cpl_status, 0);
	assert_int_equal(g_rdev_visits, 3);
	assert_ptr_equal(g_rdev_cpl_thread, t[0]);

	/* Unregistered from a; the callback waits for the channels on reactor 1. */
	assert_int_equal(thread_send_msg(t[0], rdev_unregister, NULL), 0);
	usleep(20000);
	assert_int_equal(__atomic_load_n(&g_rdev_unreg, __ATOMIC_ACQUIRE), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(thread_send_msg(t[i], rdev_put, &ch[i]), 0);
	}
	assert_true(wait_until(unreg_done, NULL, WAIT_MS));
	assert_int_equal(__atomic_load_n(&g_rdev_destroys, __ATOMIC_ACQUIRE), 3);
	assert_ptr_equal(g_rdev_unreg_thread, t[0]);
	stop_reactors();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_reactor_storm_poll, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_storm_interrupt, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_storm_adaptive, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_interrupt_sleeps_and_wakes, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_adaptive_idle, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_adaptive_busy_then_sleep, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_adaptive_sparse_sleeps, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_adaptive_sparse_bursts, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_interrupt_handler_time_counts,
					  teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_poll_mode_fds, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_thread_from_thread, teardown_reactors),
		cmocka_unit_test_teardown(test_reactor_io_channels_across_reactors,
					  teardown_reactors),
	};
	cpu_set_t set;

	g_have_two_cpus = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set) &&
			  CPU_ISSET(1, &set);
	if (!g_have_two_cpus) {
		printf("reactor_ut: cpus 0 and 1 are not both available; tests skipped\n");
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

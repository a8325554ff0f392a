/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/thread micro-benchmarks:
 *   1. one-way message throughput from a thread on reactor 0 to one on reactor 1
 *      (poll, adaptive and interrupt modes);
 *   2. message round trip (ping-pong) between the two reactors;
 *   3. cost of one idle iteration: thread_poll() with one idle poller, by hand,
 *      and a whole poll-mode reactor loop iteration;
 *   4. CPU of reactor 0 at a fixed rate of messages (-r, default 100000/s, evenly
 *      spaced, sent by a plain pthread on cpu 1) in adaptive and interrupt modes:
 *      what sparse requests cost a reactor that may sleep between them.
 * Usage: thread_bench [-n MSGS] [-t SECS] [-r RATE]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thread_internal.h"
#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

static uint64_t g_msgs = 5000000;
static double g_secs = 1.0;
static uint64_t g_rate = 100000;

static pthread_t g_runner;
static struct thread *g_a, *g_b;

static void *
runner_main(void *arg)
{
	reactors_start();
	return NULL;
}

static void
exit_msg(void *ctx)
{
	thread_exit(thread_get_current());
}

static void
count_thread(struct thread *t, void *ctx)
{
	(*(uint32_t *)ctx)++;
}

static int
start(enum reactor_mode mode)
{
	struct cpuset mask, m0, m1;
	int rc;

	thread_lib_init();
	cpuset_parse(&mask, "0x3");
	rc = reactors_init(&mask, mode);
	if (rc != 0) {
		fprintf(stderr, "reactors_init: %s (needs cpus 0 and 1)\n", strerror(-rc));
		return rc;
	}
	cpuset_parse(&m0, "0x1");
	cpuset_parse(&m1, "0x2");
	g_a = thread_create("bench_a", &m0);
	g_b = thread_create("bench_b", &m1);
	if (g_a == NULL || g_b == NULL) {
		return -ENOMEM;
	}
	pthread_create(&g_runner, NULL, runner_main, NULL);
	return 0;
}

static void
stop(void)
{
	uint32_t n;

	thread_send_msg(g_a, exit_msg, NULL);
	thread_send_msg(g_b, exit_msg, NULL);
	do {
		usleep(1000);
		n = 0;
		thread_iterate(count_thread, &n);
	} while (n > 0);
	reactors_stop();
	pthread_join(g_runner, NULL);
	reactors_fini();
	thread_lib_fini();
}

/* ---- one-way throughput ------------------------------------------------------------------ */

static struct poller *g_sender;
static uint64_t g_sent, g_full;
static uint64_t g_received;

static void
recv_msg(void *ctx)
{
	__atomic_store_n(&g_received, g_received + 1, __ATOMIC_RELAXED);
}

static int
send_poller(void *ctx)
{
	uint32_t i;

	for (i = 0; i < 1024 && g_sent < g_msgs; i++) {
		if (thread_send_msg(g_b, recv_msg, NULL) != 0) {
			g_full++;
			break;
		}
		g_sent++;
	}
	if (g_sent == g_msgs) {
		poller_unregister(&g_sender);
	}
	return POLLER_BUSY;
}

static void
send_start(void *ctx)
{
	g_sender = poller_register(send_poller, NULL, 0, "sender");
}

static void
bench_throughput(enum reactor_mode mode)
{
	uint64_t t0, t1;
	double secs;

	if (start(mode) != 0) {
		exit(1);
	}
	usleep(20000);
	g_sent = g_full = g_received = 0;
	t0 = util_get_ticks();
	thread_send_msg(g_a, send_start, NULL);
	while (__atomic_load_n(&g_received, __ATOMIC_RELAXED) < g_msgs) {
		usleep(100);
	}
	t1 = util_get_ticks();
	secs = (double)(t1 - t0) / 1e9;
	printf("throughput %-9s reactor0 -> reactor1: %10.0f msgs/s (%" PRIu64
	       " msgs in %.3f s, ring full %" PRIu64 " times)\n",
	       reactor_mode_name(mode), (double)g_msgs / secs, g_msgs, secs, g_full);
	stop();
}

/* ---- ping-pong ------------------------------------------------------------------------- */

static uint64_t g_pp_left, g_pp_done;

static void pong(void *ctx);

static void
ping(void *ctx)
{
	thread_send_msg(g_a, pong, NULL);
}

static void
pong(void *ctx)
{
	if (--g_pp_left == 0) {
		__atomic_store_n(&g_pp_done, 1, __ATOMIC_RELEASE);
		return;
	}
	thread_send_msg(g_b, ping, NULL);
}

static void
bench_pingpong(enum reactor_mode mode)
{
	uint64_t n = g_msgs / 20, t0, t1;

	if (start(mode) != 0) {
		exit(1);
	}
	usleep(20000);
	g_pp_left = n;
	g_pp_done = 0;
	t0 = util_get_ticks();
	thread_send_msg(g_b, ping, NULL);
	while (!__atomic_load_n(&g_pp_done, __ATOMIC_ACQUIRE)) {
		usleep(100);
	}
	t1 = util_get_ticks();
	printf("round trip %-9s reactor0 <-> reactor1: %10.0f ns (%" PRIu64 " round trips)\n",
	       reactor_mode_name(mode), (double)(t1 - t0) / (double)n, n);
	stop();
}

/* ---- idle iterations ----------------------------------------------------------------------- */

static uint64_t g_idle_runs;

static int
idle_poller(void *ctx)
{
	g_idle_runs++;
	return POLLER_IDLE;
}

static void
bench_idle_hand(void)
{
	struct poller *p;
	struct thread *t;
	uint64_t i, n = 10000000, t0, t1;

	thread_lib_init();
	t = thread_create("idle", NULL);
	thread_set_current(t);
	t0 = util_get_ticks();
	for (i = 0; i < n; i++) {
		thread_poll(t, 0);
	}
	t1 = util_get_ticks();
	printf("idle thread_poll(), no pollers:            %6.1f ns/iteration\n",
	       (double)(t1 - t0) / (double)n);
	p = poller_register(idle_poller, NULL, 0, "idle");
	t0 = util_get_ticks();
	for (i = 0; i < n; i++) {
		thread_poll(t, 0);
	}
	t1 = util_get_ticks();
	printf("idle thread_poll(), one idle poller:       %6.1f ns/iteration\n",
	       (double)(t1 - t0) / (double)n);
	poller_unregister(&p);
	thread_exit(t);
	thread_poll(t, 0);
	thread_destroy(t);
	thread_lib_fini();
}

static struct poller *g_idle_poller;

static void
idle_start(void *ctx)
{
	g_idle_poller = poller_register(idle_poller, NULL, 0, "idle");
}

static void
idle_stop(void *ctx)
{
	poller_unregister(&g_idle_poller);
}

static void
bench_idle_reactor(void)
{
	uint64_t r0, r1, t0, t1;

	if (start(REACTOR_MODE_POLL) != 0) {
		exit(1);
	}
	thread_send_msg(g_b, idle_start, NULL);
	usleep(50000);
	r0 = __atomic_load_n(&g_idle_runs, __ATOMIC_RELAXED);
	t0 = util_get_ticks();
	usleep((useconds_t)(g_secs * 1e6));
	r1 = __atomic_load_n(&g_idle_runs, __ATOMIC_RELAXED);
	t1 = util_get_ticks();
	printf("idle poll-mode reactor loop, one poller:   %6.1f ns/iteration (%.1f M/s)\n",
	       (double)(t1 - t0) / (double)(r1 - r0), (double)(r1 - r0) / ((t1 - t0) / 1e3));
	thread_send_msg(g_b, idle_stop, NULL);
	stop();
}

/* ---- fixed message rate: reactor CPU --------------------------------------------------------- */

static uint64_t g_rate_recv;

static void
rate_msg(void *ctx)
{
	__atomic_store_n(&g_rate_recv, g_rate_recv + 1, __ATOMIC_RELAXED);
}

/* utime + stime of one task of this process, in seconds. */
static double
task_cpu_s(int tid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* Fields after the ")" of the command name: state is field 3, utime 14, stime 15. */
	p = p != NULL ? strrchr(buf, ')') : NULL;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) != 2) {
		return 0;
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
bench_rate(enum reactor_mode mode)
{
	uint64_t gap = util_get_ticks_hz() / g_rate, t0, next, now, end, sent = 0;
	struct reactor_stats st[2];
	cpu_set_t set;
	double c0, c1, secs;

	if (start(mode) != 0) {
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	usleep(100000);
	reactors_get_stats(st, 2);
	__atomic_store_n(&g_rate_recv, 0, __ATOMIC_RELAXED);
	c0 = task_cpu_s(st[0].tid);
	t0 = next = util_get_ticks();
	end = t0 + (uint64_t)(g_secs * (double)util_get_ticks_hz());
	do {
		now = util_get_ticks();
		if (now < next) {
			continue;
		}
		if (thread_send_msg(g_a, rate_msg, NULL) == 0) {
			sent++;
		}
		/* Evenly spaced: slots missed while this pthread was descheduled are skipped. */
		next += gap;
		if (next < now) {
			next = now + gap;
		}
	} while (now < end);
	while (__atomic_load_n(&g_rate_recv, __ATOMIC_RELAXED) < sent) {
		usleep(100);
	}
	secs = (double)(util_get_ticks() - t0) / (double)util_get_ticks_hz();
	c1 = task_cpu_s(st[0].tid);
	printf("fixed rate %-9s  %8.0f msgs/s (asked %" PRIu64 "): reactor 0 %.3f cpu-s/s, "
	       "%.2f us cpu per message\n", reactor_mode_name(mode), (double)sent / secs, g_rate,
	       (c1 - c0) / secs, sent ? (c1 - c0) * 1e6 / (double)sent : 0.0);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CPU_SET(1, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	stop();
}

int
main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "n:t:r:h")) != -1) {
		switch (c) {
		case 'n':
			g_msgs = strtoull(optarg, NULL, 0);
			break;
		case 't':
			g_secs = atof(optarg);
			break;
		case 'r':
			g_rate = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n MSGS] [-t SECS] [-r RATE]\n", argv[0]);
			return 2;
		}
	}
	if (g_msgs < 20) {
		g_msgs = 20;
	}
	if (g_rate == 0 || g_rate > util_get_ticks_hz()) {
		g_rate = 100000;
	}
	log_set_level(LOG_LEVEL_WARN);
	printf("lib/thread benchmark: ring %u slots, batch %u, adaptive idle %u us\n",
	       THREAD_MSG_RING_SIZE, THREAD_MSG_BATCH, THREAD_ADAPTIVE_IDLE_US);
	bench_throughput(REACTOR_MODE_POLL);
	bench_throughput(REACTOR_MODE_ADAPTIVE);
	bench_throughput(REACTOR_MODE_INTERRUPT);
	bench_pingpong(REACTOR_MODE_POLL);
	bench_pingpong(REACTOR_MODE_ADAPTIVE);
	bench_pingpong(REACTOR_MODE_INTERRUPT);
	bench_idle_hand();
	bench_idle_reactor();
	bench_rate(REACTOR_MODE_ADAPTIVE);
	bench_rate(REACTOR_MODE_INTERRUPT);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pingpong: the round trip of one cache line between two cpus, the hardware
 * floor under any request/response over shared memory (a virtqueue): the
 * client's write must reach the server's core and the answer must come back.
 * No server's queue-depth-1 latency can be below it.
 *
 *   pingpong [-a CPU] [-b CPU] [-n ROUNDS] [-r BATCHES]
 *
 * Thread A (cpu -a) writes a counter into one line and spins until thread B
 * (cpu -b) has copied it into another; ROUNDS round trips per batch, BATCHES
 * batches. Prints the median and the lowest batch's mean round trip in
 * microseconds (a clock read per round trip would cost as much as the trip).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PP_MAX_BATCHES 101

struct pp_line {
	uint64_t	v;
} __attribute__((aligned(64)));

static struct pp_line g_ping;
static struct pp_line g_pong;
static uint64_t g_total;

static int
pp_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *
pp_echo(void *arg)
{
	uint64_t i, v;

	if (pp_pin(*(int *)arg) != 0) {
		fprintf(stderr, "pingpong: cannot pin to cpu %d\n", *(int *)arg);
		exit(1);
	}
	for (i = 1; i <= g_total; i++) {
		do {
			v = __atomic_load_n(&g_ping.v, __ATOMIC_ACQUIRE);
		} while (v != i);
		__atomic_store_n(&g_pong.v, v, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double
pp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
pp_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int cpu_a = 1, cpu_b = 0, opt, rc;
	uint64_t rounds = 200000, i, n = 0;
	double mean[PP_MAX_BATCHES], t0;
	long batches = 9, b;
	pthread_t t;

	while ((opt = getopt(argc, argv, "a:b:n:r:h")) != -1) {
		switch (opt) {
		case 'a':
			cpu_a = atoi(optarg);
			break;
		case 'b':
			cpu_b = atoi(optarg);
			break;
		case 'n':
			rounds = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			batches = strtol(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: pingpong [-a CPU] [-b CPU] [-n ROUNDS] [-r BATCHES]\n");
			return 2;
		}
	}
	if (rounds == 0 || batches < 1 || batches > PP_MAX_BATCHES) {
		fprintf(stderr, "pingpong: ROUNDS > 0, 1 <= BATCHES <= %d\n", PP_MAX_BATCHES);
		return 2;
	}
	g_total = rounds * (uint64_t)batches;
	rc = pthread_create(&t, NULL, pp_echo, &cpu_b);
	if (rc != 0) {
		fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	if (pp_pin(cpu_a) != 0) {
		fprintf(stderr, "pingpong: cannot pin to cpu %d\n", cpu_a);
		return 1;
	}
	for (b = 0; b < batches; b++) {
		t0 = pp_now_us();
		for (i = 0; i < rounds; i++) {
			n++;
			__atomic_store_n(&g_ping.v, n, __ATOMIC_RELEASE);
			while (__atomic_load_n(&g_pong.v, __ATOMIC_ACQUIRE) != n) {
			}
		}
		mean[b] = (pp_now_us() - t0) / (double)rounds;
	}
	pthread_join(t, NULL);
	qsort(mean, (size_t)batches, sizeof(mean[0]), pp_cmp);
	printf("cache-line round trip cpu %d <-> cpu %d: median %.3f us, lowest %.3f us "
	       "(%ld batches of %" PRIu64 ")\n", cpu_a, cpu_b, mean[batches / 2], mean[0], batches,
	       rounds);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process bdev benchmark: one lightweight thread on one reactor (core -c,
 * poll mode unless -m), QD I/Os of BS bytes at random aligned offsets, one
 * second of warm-up then T seconds measured. Prints one line:
 *   bdev_bench backend=uring rw=randread bs=4096 qd=32 iops=123456 p50_us=.. p99_us=..
 *
 * bdev_bench -b null|malloc|aio|uring [-f FILE] [-w randread|randwrite] [-q QD]
 *            [-s BS] [-t SECS] [-S SIZE_MB] [-c CORE] [-m poll|interrupt|adaptive]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/bdev.h"
#include "vhostd/cpuset.h"
#include "vhostd/bdev_module.h"
#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "../../lib/bdev/aio/bdev_aio.h"
#include "../../lib/bdev/malloc/bdev_malloc.h"
#include "../../lib/bdev/null/bdev_null.h"
#include "../../lib/bdev/uring/bdev_uring.h"

/* Log-linear latency histogram: 16 sub-buckets per power of two of nanoseconds. */
#define HIST_SUB	16
#define HIST_BUCKETS	(64 * HIST_SUB)
#define LAT_SAMPLE	32

struct bench_task {
	struct bench		*b;
	void			*buf;
	uint64_t		start;
	struct bdev_io_wait_entry wait;
};

struct bench {
	struct bdev_desc	*desc;
	struct io_channel	*ch;
	bool			write;
	uint32_t		bs_blocks;
	uint64_t		nranges;
	uint64_t		seed;
	bool			stopping;
	uint32_t		inflight;
	uint64_t		done;
	uint64_t		total_done;	/* warm-up included */
	uint64_t		errors;
	uint64_t		hist[HIST_BUCKETS];
	double			ns_per_tick;
	uint32_t		sample_ctr;
	/* setup and phases */
	const char		*backend;
	const char		*file;
	const char		*rw;
	uint32_t		qd;
	uint32_t		bs;
	uint32_t		secs;
	uint64_t		size_mb;
	struct bdev		*bdev;
	struct bench_task	*tasks;
	struct poller		*timer;
	uint64_t		warm_end;
	uint64_t		start;
	uint64_t		deadline;
	uint64_t		measured;
	double			elapsed;
	int			rc;
};

static struct bench g_b;

static unsigned
hist_index(uint64_t ns)
{
	unsigned msb, sub;

	if (ns < HIST_SUB) {
		return (unsigned)ns;
	}
	msb = 63 - __builtin_clzll(ns);
	sub = (unsigned)(ns >> (msb - 4)) & (HIST_SUB - 1);
	return (msb - 3) * HIST_SUB + sub;
}

static double
hist_value(unsigned idx)
{
	unsigned msb, sub;

	if (idx < HIST_SUB) {
		return idx;
	}
	msb = idx / HIST_SUB + 3;
	sub = idx % HIST_SUB;
	/* Middle of the bucket. */
	return (double)((1ULL << msb) + ((uint64_t)sub << (msb - 4))) +
	       (double)(1ULL << (msb - 4)) / 2;
}

static double
hist_percentile(const struct bench *b, double pct)
{
	uint64_t total = 0, acc = 0, want;
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		total += b->hist[i];
	}
	if (total == 0) {
		return 0;
	}
	want = (uint64_t)(total * pct / 100.0);
	for (i = 0; i < HIST_BUCKETS; i++) {
		acc += b->hist[i];
		if (acc > want) {
			return hist_value(i);
		}
	}
	return hist_value(HIST_BUCKETS - 1);
}

static inline uint64_t
bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void bench_submit(struct bench_task *t);

static void
bench_retry(void *arg)
{
	bench_submit(arg);
}

static void
bench_done(struct bdev_io *io, bool success, void *arg)
{
	struct bench_task *t = arg;
	struct bench *b = t->b;

	if (t->start != 0) {
		uint64_t ns = (uint64_t)((util_get_ticks() - t->start) * b->ns_per_tick);

		b->hist[hist_index(ns)]++;
	}
	bdev_free_io(io);
	b->inflight--;
	if (!success) {
		b->errors++;
	}
	b->done++;
	b->total_done++;
	if (!b->stopping) {
		bench_submit(t);
	}
}

static void
bench_submit(struct bench_task *t)
{
	struct bench *b = t->b;
	/* Multiply-shift instead of a 64-bit modulo (~40 cycles) per I/O. */
	uint64_t off = (uint64_t)(((unsigned __int128)bench_rand(&b->seed) * b->nranges) >> 64) *
		       b->bs_blocks;
	int rc;

	/* Latency of one I/O in LAT_SAMPLE: a clock read costs ~90 ns on this VM. */
	t->start = (b->sample_ctr++ % LAT_SAMPLE) == 0 ? util_get_ticks() : 0;
	if (b->write) {
		rc = bdev_write_blocks(b->desc, b->ch, t->buf, off, b->bs_blocks, bench_done, t);
	} else {
		rc = bdev_read_blocks(b->desc, b->ch, t->buf, off, b->bs_blocks, bench_done, t);
	}
	if (rc == 0) {
		b->inflight++;
	} else if (rc == -ENOMEM) {
		t->wait.cb_fn = bench_retry;
		t->wait.cb_arg = t;
		bdev_queue_io_wait(bdev_desc_get_bdev(b->desc), b->ch, &t->wait);
	} else {
		fprintf(stderr, "submit: %s\n", strerror(-rc));
		exit(1);
	}
}

static void
bench_event(enum bdev_event_type type, struct bdev *bdev, void *ctx)
{
}

static void
usage(void)
{
	fprintf(stderr, "usage: bdev_bench -b null|malloc|aio|uring [-f FILE] "
		"[-w randread|randwrite] [-q QD] [-s BS] [-t SECS] [-S SIZE_MB] [-c CORE] "
		"[-m poll|interrupt|adaptive]\n");
	exit(2);
}

static void
bench_finish(struct bench *b)
{
	uint32_t i;

	struct reactor_stats st;

	/* Sleeps of the reactor per I/O (interrupt/adaptive modes), whole run. */
	if (reactors_get_stats(&st, 1) != 1) {
		st.sleeps = 0;
	}
	printf("bdev_bench backend=%s rw=%s bs=%u qd=%u iops=%.0f p50_us=%.2f p99_us=%.2f "
	       "errors=%llu sleeps_per_io=%.2f\n", b->backend, b->rw, b->bs, b->qd,
	       b->elapsed > 0 ? (double)b->measured / b->elapsed : 0.0,
	       hist_percentile(b, 50) / 1000.0, hist_percentile(b, 99) / 1000.0,
	       (unsigned long long)b->errors,
	       b->total_done > 0 ? (double)st.sleeps / (double)b->total_done : 0.0);
	fflush(stdout);
	io_channel_put(b->ch);
	bdev_close(b->desc);
	bdev_unregister(b->bdev, NULL, NULL);
	for (i = 0; i < b->qd; i++) {
		free(b->tasks[i].buf);
	}
	free(b->tasks);
	b->rc = b->errors ? 1 : 0;
	reactors_stop();
}

static int
bench_tick(void *arg)
{
	struct bench *b = arg;
	uint64_t now = util_get_ticks();

	if (b->warm_end != 0 && now >= b->warm_end) {
		b->warm_end = 0;
		memset(b->hist, 0, sizeof(b->hist));
		b->done = 0;
		b->start = now;
		b->deadline = now + (uint64_t)b->secs * util_get_ticks_hz();
	} else if (b->deadline != 0 && now >= b->deadline && !b->stopping) {
		b->measured = b->done;
		b->elapsed = (double)(now - b->start) / (double)util_get_ticks_hz();
		b->stopping = true;
	}
	if (b->stopping && b->inflight == 0) {
		poller_unregister(&b->timer);
		bench_finish(b);
	}
	return POLLER_IDLE;
}

static void
bench_start(void *arg)
{
	struct bench *b = arg;
	uint32_t i;
	int rc;

	if (strcmp(b->backend, "null") == 0) {
		struct null_bdev_opts o = {.name = "b0", .block_size = 512,
			.num_blocks = b->size_mb * 2048};

		rc = bdev_null_create(&o, &b->bdev);
	} else if (strcmp(b->backend, "malloc") == 0) {
		struct malloc_bdev_opts o = {.name = "b0", .block_size = 512,
			.num_blocks = b->size_mb * 2048};

		rc = bdev_malloc_create(&o, &b->bdev);
	} else if (strcmp(b->backend, "aio") == 0) {
		struct aio_bdev_opts o = {.name = "b0", .filename = b->file, .block_size = 512};

		rc = bdev_aio_create(&o, &b->bdev);
	} else {
		struct uring_bdev_opts o = {.name = "b0", .filename = b->file, .block_size = 512};

		rc = bdev_uring_create(&o, &b->bdev);
	}
	if (rc != 0) {
		fprintf(stderr, "create %s: %s\n", b->backend, strerror(-rc));
		exit(1);
	}
	rc = bdev_open_ext("b0", true, bench_event, NULL, &b->desc);
	if (rc != 0) {
		fprintf(stderr, "open: %s\n", strerror(-rc));
		exit(1);
	}
	b->ch = bdev_get_io_channel(b->desc);
	b->bs_blocks = b->bs / bdev_get_block_size(b->bdev);
	b->nranges = bdev_get_num_blocks(b->bdev) / b->bs_blocks;
	b->seed = 0x2545f4914f6cdd1dULL;
	b->ns_per_tick = 1e9 / (double)util_get_ticks_hz();
	b->tasks = calloc(b->qd, sizeof(*b->tasks));
	for (i = 0; i < b->qd; i++) {
		b->tasks[i].b = b;
		if (posix_memalign(&b->tasks[i].buf, 4096, b->bs) != 0) {
			exit(1);
		}
		memset(b->tasks[i].buf, 0x5a, b->bs);
	}
	b->warm_end = util_get_ticks() + util_get_ticks_hz();
	b->timer = poller_register(bench_tick, b, 1000, "bench_tick");
	for (i = 0; i < b->qd; i++) {
		bench_submit(&b->tasks[i]);
	}
}

int
main(int argc, char **argv)
{
	struct bench *b = &g_b;
	enum reactor_mode mode = REACTOR_MODE_POLL;
	struct cpuset mask;
	uint32_t core = 0;
	struct thread *t;
	int c, rc;

	b->rw = "randread";
	b->qd = 1;
	b->bs = 4096;
	b->secs = 5;
	b->size_mb = 1024;
	while ((c = getopt(argc, argv, "b:f:w:q:s:t:S:c:m:")) != -1) {
		switch (c) {
		case 'b': b->backend = optarg; break;
		case 'f': b->file = optarg; break;
		case 'w': b->rw = optarg; break;
		case 'q': b->qd = (uint32_t)atoi(optarg); break;
		case 's': b->bs = (uint32_t)atoi(optarg); break;
		case 't': b->secs = (uint32_t)atoi(optarg); break;
		case 'S': b->size_mb = strtoull(optarg, NULL, 0); break;
		case 'c': core = (uint32_t)atoi(optarg); break;
		case 'm':
			if (reactor_mode_from_name(optarg, &mode) != 0) {
				usage();
			}
			break;
		default: usage();
		}
	}
	if (b->backend == NULL || b->qd == 0 || b->qd > 1024 || b->bs < 512 ||
	    !VHD_IS_POW2(b->bs)) {
		usage();
	}
	if (strcmp(b->rw, "randread") != 0 && strcmp(b->rw, "randwrite") != 0) {
		usage();
	}
	if (strcmp(b->backend, "null") != 0 && strcmp(b->backend, "malloc") != 0 &&
	    ((strcmp(b->backend, "aio") != 0 && strcmp(b->backend, "uring") != 0) ||
	     b->file == NULL)) {
		usage();
	}
	b->write = strcmp(b->rw, "randwrite") == 0;
	log_set_level(LOG_LEVEL_WARN);
	cpuset_zero(&mask);
	cpuset_set_cpu(&mask, core, true);
	if (thread_lib_init() != 0 || reactors_init(&mask, mode) != 0) {
		fprintf(stderr, "cannot start a reactor on core %u\n", core);
		return 1;
	}
	t = thread_create("bench", &mask);
	if (t == NULL || thread_send_msg(t, bench_start, b) != 0) {
		fprintf(stderr, "thread_create failed\n");
		return 1;
	}
	reactors_start();
	reactors_fini();
	(void)rc;
	return b->rc;
}

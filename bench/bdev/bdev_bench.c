/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process bdev benchmark: one lightweight thread polled in a tight loop on
 * the calling pthread (pin it with taskset), QD I/Os of BS bytes at random
 * aligned offsets, for T seconds. Prints one line:
 *   bdev_bench backend=uring rw=randread bs=4096 qd=32 iops=123456 p50_us=.. p99_us=..
 *
 * bdev_bench -b null|malloc|aio|uring [-f FILE] [-w randread|randwrite] [-q QD]
 *            [-s BS] [-t SECS] [-S SIZE_MB]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/bdev.h"
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
#define LAT_SAMPLE	8

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
	uint64_t		errors;
	uint64_t		hist[HIST_BUCKETS];
	double			ns_per_tick;
	uint32_t		sample_ctr;
};

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
	if (!b->stopping) {
		bench_submit(t);
	}
}

static void
bench_submit(struct bench_task *t)
{
	struct bench *b = t->b;
	uint64_t off = (bench_rand(&b->seed) % b->nranges) * b->bs_blocks;
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
		"[-w randread|randwrite] [-q QD] [-s BS] [-t SECS] [-S SIZE_MB]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *backend = NULL, *file = NULL, *rw = "randread";
	uint32_t qd = 1, bs = 4096, secs = 5, i;
	uint64_t size_mb = 1024, start, end, deadline, warm;
	struct bench b = {};
	struct bench_task *tasks;
	struct thread *t;
	struct bdev *bdev;
	int c, rc;

	while ((c = getopt(argc, argv, "b:f:w:q:s:t:S:")) != -1) {
		switch (c) {
		case 'b': backend = optarg; break;
		case 'f': file = optarg; break;
		case 'w': rw = optarg; break;
		case 'q': qd = (uint32_t)atoi(optarg); break;
		case 's': bs = (uint32_t)atoi(optarg); break;
		case 't': secs = (uint32_t)atoi(optarg); break;
		case 'S': size_mb = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (backend == NULL || qd == 0 || qd > 1024 || bs < 512 || !VHD_IS_POW2(bs)) {
		usage();
	}
	if (strcmp(rw, "randread") != 0 && strcmp(rw, "randwrite") != 0) {
		usage();
	}
	b.write = strcmp(rw, "randwrite") == 0;
	log_set_level(LOG_LEVEL_WARN);
	if (thread_lib_init() != 0 || (t = thread_create("bench", NULL)) == NULL) {
		fprintf(stderr, "thread lib init failed\n");
		return 1;
	}
	thread_set_current(t);

	if (strcmp(backend, "null") == 0) {
		struct null_bdev_opts o = {.name = "b0", .block_size = 512,
			.num_blocks = size_mb * 2048};

		rc = bdev_null_create(&o, &bdev);
	} else if (strcmp(backend, "malloc") == 0) {
		struct malloc_bdev_opts o = {.name = "b0", .block_size = 512,
			.num_blocks = size_mb * 2048};

		rc = bdev_malloc_create(&o, &bdev);
	} else if (strcmp(backend, "aio") == 0 && file != NULL) {
		struct aio_bdev_opts o = {.name = "b0", .filename = file, .block_size = 512};

		rc = bdev_aio_create(&o, &bdev);
	} else if (strcmp(backend, "uring") == 0 && file != NULL) {
		struct uring_bdev_opts o = {.name = "b0", .filename = file, .block_size = 512};

		rc = bdev_uring_create(&o, &bdev);
	} else {
		usage();
	}
	if (rc != 0) {
		fprintf(stderr, "create %s: %s\n", backend, strerror(-rc));
		return 1;
	}
	rc = bdev_open_ext("b0", true, bench_event, NULL, &b.desc);
	if (rc != 0) {
		fprintf(stderr, "open: %s\n", strerror(-rc));
		return 1;
	}
	b.ch = bdev_get_io_channel(b.desc);
	b.bs_blocks = bs / bdev_get_block_size(bdev);
	b.nranges = bdev_get_num_blocks(bdev) / b.bs_blocks;
	b.seed = 0x2545f4914f6cdd1dULL;
	b.ns_per_tick = 1e9 / (double)util_get_ticks_hz();
	tasks = calloc(qd, sizeof(*tasks));
	for (i = 0; i < qd; i++) {
		tasks[i].b = &b;
		if (posix_memalign(&tasks[i].buf, 4096, bs) != 0) {
			return 1;
		}
		memset(tasks[i].buf, 0x5a, bs);
	}
	for (i = 0; i < qd; i++) {
		bench_submit(&tasks[i]);
	}
	/* One second of warm-up, then measure. */
	warm = util_get_ticks() + util_get_ticks_hz();
	while (util_get_ticks() < warm) {
		thread_poll(t, 0);
	}
	memset(b.hist, 0, sizeof(b.hist));
	b.done = 0;
	start = util_get_ticks();
	deadline = start + (uint64_t)secs * util_get_ticks_hz();
	do {
		for (i = 0; i < 64; i++) {
			thread_poll(t, 0);
		}
		end = util_get_ticks();
	} while (end < deadline);
	{
		uint64_t done = b.done;
		double sec = (double)(end - start) / (double)util_get_ticks_hz();

		b.stopping = true;
		while (b.inflight > 0) {
			thread_poll(t, 0);
		}
		printf("bdev_bench backend=%s rw=%s bs=%u qd=%u iops=%.0f p50_us=%.2f p99_us=%.2f "
		       "errors=%llu\n", backend, rw, bs, qd, (double)done / sec,
		       hist_percentile(&b, 50) / 1000.0, hist_percentile(&b, 99) / 1000.0,
		       (unsigned long long)b.errors);
	}
	io_channel_put(b.ch);
	bdev_close(b.desc);
	bdev_unregister(bdev, NULL, NULL);
	for (i = 0; i < 1000; i++) {
		thread_poll(t, 0);
	}
	for (i = 0; i < qd; i++) {
		free(tasks[i].buf);
	}
	free(tasks);
	return b.errors ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared backend checks for the bdev unit tests: synchronous wrappers over the
 * async API on the fake reactor, read-after-write / unmap / write-zeroes /
 * flush checks, and a randomized data-integrity run against an in-memory
 * reference model on several threads. Include after cmocka.h and ut_thread.h.
 */
#ifndef VHOSTD_BDEV_UT_COMMON_H
#define VHOSTD_BDEV_UT_COMMON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/bdev.h"
#include "vhostd/util.h"

#define UTB_MAX_THREADS 4

struct utb {
	struct bdev_desc	*desc[UTB_MAX_THREADS];
	struct io_channel	*ch[UTB_MAX_THREADS];
	uint32_t		nthreads;
	uint32_t		bs;
	uint64_t		blocks;
	int			removes;
};

struct utb_cpl {
	int			done;
	bool			success;
	enum bdev_io_status	status;
	int			err;
};

static void
utb_event(enum bdev_event_type type, struct bdev *bdev, void *ctx)
{
	struct utb *u = ctx;

	if (type == BDEV_EVENT_REMOVE) {
		u->removes++;
	}
}

static void
utb_io_done(struct bdev_io *io, bool success, void *arg)
{
	struct utb_cpl *c = arg;

	c->done++;
	c->success = success;
	c->status = bdev_io_get_status(io);
	c->err = bdev_io_get_errno(io);
	bdev_free_io(io);
}

static uint64_t
utb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll the fake reactor until *counter >= target; real completions may take real time. */
static void
utb_wait(int *counter, int target)
{
	uint64_t deadline = utb_now_ms() + 20000;

	for (;;) {
		/* Timed pollers (delay bdev, reset drain) run on the fake clock. */
		ut_advance_time_us(50);
		ut_poll_threads();
		if (*counter >= target) {
			return;
		}
		if (utb_now_ms() > deadline) {
			fail_msg("timed out waiting for %d completions (have %d)", target, *counter);
		}
		usleep(50);
	}
}

/* Open `name` on threads 1..n (each its own descriptor and channel). */
static void
utb_open(struct utb *u, const char *name, uint32_t n)
{
	uint32_t i;

	memset(u, 0, sizeof(*u));
	u->nthreads = n;
	for (i = 0; i < n; i++) {
		ut_set_thread(i + 1);
		assert_int_equal(bdev_open_ext(name, true, utb_event, u, &u->desc[i]), 0);
		u->ch[i] = bdev_get_io_channel(u->desc[i]);
		assert_non_null(u->ch[i]);
	}
	ut_set_thread(0);
	u->bs = bdev_get_block_size(bdev_desc_get_bdev(u->desc[0]));
	u->blocks = bdev_get_num_blocks(bdev_desc_get_bdev(u->desc[0]));
}

static void
utb_close(struct utb *u)
{
	uint32_t i;

	for (i = 0; i < u->nthreads; i++) {
		ut_set_thread(i + 1);
		io_channel_put(u->ch[i]);
		bdev_close(u->desc[i]);
	}
	ut_set_thread(0);
	ut_poll_threads();
}

/* Synchronous I/O on thread t+1. Returns the submit rc; *c holds the completion. */
static int
utb_io(struct utb *u, uint32_t t, enum bdev_io_type type, void *buf, uint64_t off, uint64_t n,
       struct utb_cpl *c)
{
	struct bdev_desc *d = u->desc[t];
	struct io_channel *ch = u->ch[t];
	int rc;

	memset(c, 0, sizeof(*c));
	ut_set_thread(t + 1);
	switch (type) {
	case BDEV_IO_TYPE_READ:
		rc = bdev_read_blocks(d, ch, buf, off, n, utb_io_done, c);
		break;
	case BDEV_IO_TYPE_WRITE:
		rc = bdev_write_blocks(d, ch, buf, off, n, utb_io_done, c);
		break;
	case BDEV_IO_TYPE_UNMAP:
		rc = bdev_unmap_blocks(d, ch, off, n, utb_io_done, c);
		break;
	case BDEV_IO_TYPE_WRITE_ZEROES:
		rc = bdev_write_zeroes_blocks(d, ch, off, n, utb_io_done, c);
		break;
	case BDEV_IO_TYPE_FLUSH:
		rc = bdev_flush_blocks(d, ch, off, n, utb_io_done, c);
		break;
	case BDEV_IO_TYPE_RESET:
		rc = bdev_reset(d, ch, utb_io_done, c);
		break;
	default:
		rc = -EINVAL;
	}
	ut_set_thread(0);
	if (rc == 0) {
		/* Never before the call returned. */
		assert_int_equal(c->done, 0);
		utb_wait(&c->done, 1);
		assert_int_equal(c->done, 1);
	}
	return rc;
}

static void *
utb_alloc(size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 4096, len + 4096), 0);
	return p;
}

/* Read-after-write, unmap and write-zeroes read back zeroes (when supported), flush. */
static void
utb_check_basic(struct utb *u, bool check_unmap_zero)
{
	size_t len = 8 * (size_t)u->bs;
	uint8_t *w = utb_alloc(len), *r = utb_alloc(len), *z = calloc(1, len);
	struct bdev *bdev = bdev_desc_get_bdev(u->desc[0]);
	struct utb_cpl c;
	size_t i;

	for (i = 0; i < len; i++) {
		w[i] = (uint8_t)(i * 31 + 1);
	}
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_WRITE, w, 16, 8, &c), 0);
	assert_true(c.success);
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, 16, 8, &c), 0);
	assert_true(c.success);
	assert_memory_equal(w, r, len);
	/* The last blocks of the device too. */
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_WRITE, w, u->blocks - 8, 8, &c), 0);
	assert_true(c.success);
	memset(r, 0, len);
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, u->blocks - 8, 8, &c), 0);
	assert_memory_equal(w, r, len);

	if (bdev_io_type_supported(bdev, BDEV_IO_TYPE_WRITE_ZEROES)) {
		assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_WRITE_ZEROES, NULL, 18, 2, &c), 0);
		assert_true(c.success);
		assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, 16, 8, &c), 0);
		assert_memory_equal(r, w, 2 * u->bs);
		assert_memory_equal(r + 2 * u->bs, z, 2 * u->bs);
		assert_memory_equal(r + 4 * u->bs, w + 4 * u->bs, 4 * u->bs);
	}
	if (bdev_io_type_supported(bdev, BDEV_IO_TYPE_UNMAP)) {
		assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_UNMAP, NULL, 20, 4, &c), 0);
		assert_true(c.success);
		if (check_unmap_zero) {
			assert_true(bdev_unmap_reads_zeroes(bdev));
			assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, 16, 8, &c), 0);
			assert_memory_equal(r + 4 * u->bs, z, 4 * u->bs);
		}
	} else {
		assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_UNMAP, NULL, 20, 4, &c), -ENOTSUP);
	}
	if (bdev_io_type_supported(bdev, BDEV_IO_TYPE_FLUSH)) {
		assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_FLUSH, NULL, 0, u->blocks, &c), 0);
		assert_true(c.success);
	}
	/* Out of range is refused at submit. */
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, u->blocks, 1, &c), -EINVAL);
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_READ, r, u->blocks - 1, 2, &c), -EINVAL);
	free(w);
	free(r);
	free(z);
}

/*
 * Unaligned buffers and odd iovec splits (address +1, lengths not multiples
 * of 512) written and read back: O_DIRECT backends go through the bounce path.
 */
static void
utb_check_unaligned(struct utb *u)
{
	size_t len = 4 * (size_t)u->bs;
	uint8_t *wm = malloc(len + 64), *rm = malloc(len + 64);
	uint8_t *w = wm + 1, *r = rm + 3;
	struct iovec wiov[3] = {{w, 100}, {w + 100, 1000}, {w + 1100, len - 1100}};
	struct iovec riov[2] = {{r, 777}, {r + 777, len - 777}};
	struct utb_cpl c = {};
	size_t i;

	for (i = 0; i < len; i++) {
		w[i] = (uint8_t)(i * 13 + 7);
	}
	ut_set_thread(1);
	assert_int_equal(bdev_writev_blocks(u->desc[0], u->ch[0], wiov, 3, 40, 4, utb_io_done, &c),
			 0);
	ut_set_thread(0);
	utb_wait(&c.done, 1);
	assert_true(c.success);
	memset(rm, 0, len + 64);
	memset(&c, 0, sizeof(c));
	ut_set_thread(1);
	assert_int_equal(bdev_readv_blocks(u->desc[0], u->ch[0], riov, 2, 40, 4, utb_io_done, &c),
			 0);
	ut_set_thread(0);
	utb_wait(&c.done, 1);
	assert_true(c.success);
	assert_memory_equal(r, w, len);
	/* Nothing written outside the caller's buffer. */
	assert_int_equal(rm[0], 0);
	assert_int_equal(rm[3 + len], 0);
	free(wm);
	free(rm);
}

/* ---- randomized integrity against a reference model ---- */

struct utb_rnd_io {
	struct utb		*u;
	struct utb_rnd		*r;
	uint32_t		t;
	bool			busy;
	enum bdev_io_type	type;
	uint64_t		off;
	uint64_t		n;
	uint8_t			*buf;
	uint8_t			*base;	/* allocation; buf may be offset (unaligned) */
};

struct utb_rnd {
	uint8_t			*model;
	uint64_t		nblocks;	/* region under test */
	int			completed;
	int			failures;
	int			mismatches;
	uint64_t		seed;
	struct utb_rnd_io	*ios;
	uint32_t		nios;
};

static uint64_t
utb_rand(uint64_t *s)
{
	/* xorshift64*: deterministic per seed, printed on failure. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static bool
utb_rnd_overlaps(struct utb_rnd *r, struct utb_rnd_io *me, uint64_t off, uint64_t n, bool write)
{
	uint32_t i;

	for (i = 0; i < r->nios; i++) {
		struct utb_rnd_io *o = &r->ios[i];

		if (o == me || !o->busy) {
			continue;
		}
		if (!write && o->type == BDEV_IO_TYPE_READ) {
			continue;
		}
		if (off < o->off + o->n && o->off < off + n) {
			return true;
		}
	}
	return false;
}

static void utb_rnd_submit(struct utb_rnd_io *io);

static void
utb_rnd_done(struct bdev_io *bio, bool success, void *arg)
{
	struct utb_rnd_io *io = arg;
	struct utb_rnd *r = io->r;
	size_t bs = io->u->bs;

	bdev_free_io(bio);
	if (!success) {
		r->failures++;
	} else if (io->type == BDEV_IO_TYPE_READ) {
		if (memcmp(io->buf, r->model + io->off * bs, io->n * bs) != 0) {
			r->mismatches++;
		}
	} else if (io->type == BDEV_IO_TYPE_WRITE) {
		/* The model changes at completion: no overlapping I/O was in flight. */
		memcpy(r->model + io->off * bs, io->buf, io->n * bs);
	} else {
		memset(r->model + io->off * bs, 0, io->n * bs);
	}
	io->busy = false;
	r->completed++;
}

static void
utb_rnd_submit(struct utb_rnd_io *io)
{
	struct utb *u = io->u;
	struct utb_rnd *r = io->r;
	struct bdev *bdev = bdev_desc_get_bdev(u->desc[io->t]);
	uint64_t x = utb_rand(&r->seed);
	size_t bs = u->bs, i;
	int tries, rc;
	bool write;

	for (tries = 0; tries < 16; tries++) {
		uint64_t n = 1 + utb_rand(&r->seed) % 16;
		uint64_t off = utb_rand(&r->seed) % (r->nblocks - n + 1);
		uint32_t kind = x % 10;

		if (kind < 4) {
			io->type = BDEV_IO_TYPE_READ;
		} else if (kind < 9) {
			io->type = BDEV_IO_TYPE_WRITE;
		} else {
			io->type = BDEV_IO_TYPE_WRITE_ZEROES;
		}
		if (io->type == BDEV_IO_TYPE_WRITE_ZEROES &&
		    !bdev_io_type_supported(bdev, BDEV_IO_TYPE_WRITE_ZEROES)) {
			io->type = BDEV_IO_TYPE_WRITE;
		}
		write = io->type != BDEV_IO_TYPE_READ;
		if (!utb_rnd_overlaps(r, io, off, n, write)) {
			io->off = off;
			io->n = n;
			break;
		}
		x = utb_rand(&r->seed);
	}
	if (tries == 16) {
		return;	/* try again next round */
	}
	/* One in four buffers is deliberately unaligned (bounce path on O_DIRECT backends). */
	io->buf = io->base + ((utb_rand(&r->seed) % 4 == 0) ? 8 : 0);
	if (io->type == BDEV_IO_TYPE_WRITE) {
		for (i = 0; i < io->n * bs; i += 8) {
			uint64_t v = utb_rand(&r->seed);

			memcpy(io->buf + i, &v, 8);
		}
	}
	io->busy = true;
	ut_set_thread(io->t + 1);
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		rc = bdev_read_blocks(u->desc[io->t], u->ch[io->t], io->buf, io->off, io->n,
				      utb_rnd_done, io);
		break;
	case BDEV_IO_TYPE_WRITE:
		rc = bdev_write_blocks(u->desc[io->t], u->ch[io->t], io->buf, io->off, io->n,
				       utb_rnd_done, io);
		break;
	default:
		rc = bdev_write_zeroes_blocks(u->desc[io->t], u->ch[io->t], io->off, io->n,
					      utb_rnd_done, io);
		break;
	}
	ut_set_thread(0);
	if (rc != 0) {
		io->busy = false;
		r->failures++;
	}
}

/*
 * `total` random I/Os, `qd` in flight per thread on every open thread, within
 * the first `nblocks` blocks; then read the whole region back and compare.
 */
static void
utb_random_integrity(struct utb *u, uint64_t nblocks, int total, uint32_t qd, uint64_t seed)
{
	struct utb_rnd r = {};
	size_t bs = u->bs;
	uint8_t *all;
	uint32_t i;
	int submitted = 0;
	uint64_t deadline = utb_now_ms() + 60000;
	struct utb_cpl c;

	if (nblocks > u->blocks) {
		nblocks = u->blocks;
	}
	r.nblocks = nblocks;
	r.seed = seed ? seed : 0x9e3779b97f4a7c15ULL;
	r.model = calloc(nblocks, bs);
	assert_non_null(r.model);
	/* Start from a known state: zero the region through the bdev. */
	all = utb_alloc(nblocks * bs);
	memset(all, 0, nblocks * bs);
	assert_int_equal(utb_io(u, 0, BDEV_IO_TYPE_WRITE, all, 0, nblocks, &c), 0);
	assert_true(c.success);

	r.nios = u->nthreads * qd;
	r.ios = calloc(r.nios, sizeof(*r.ios));
	for (i = 0; i < r.nios; i++) {
		r.ios[i].u = u;
		r.ios[i].r = &r;
		r.ios[i].t = i % u->nthreads;
		r.ios[i].base = utb_alloc(16 * bs + 64);
	}
	while (r.completed < total) {
		for (i = 0; i < r.nios && submitted < total; i++) {
			if (!r.ios[i].busy) {
				bool was = r.ios[i].busy;

				utb_rnd_submit(&r.ios[i]);
				if (r.ios[i].busy != was) {
					submitted++;
				}
			}
		}
		ut_advance_time_us(50);
		ut_poll_threads();
		if (utb_now_ms() > deadline) {
			fail_msg("random integrity: timed out (seed %llu)", (unsigned long long)seed);
		}
		if (submitted >= total) {
			bool idle = true;

			for (i = 0; i < r.nios; i++) {
				idle = idle && !r.ios[i].busy;
			}
			if (idle) {
				break;
			}
			usleep(20);
		}
	}
	if (r.failures || r.mismatches) {
		fail_msg("random integrity: %d failures, %d mismatches (seed %llu)", r.failures,
			 r.mismatches, (unsigned long long)seed);
	}
	memset(all, 0xee, nblocks * bs);
	assert_int_equal(utb_io(u, 1 % u->nthreads, BDEV_IO_TYPE_READ, all, 0, nblocks, &c), 0);
	assert_true(c.success);
	assert_memory_equal(all, r.model, nblocks * bs);
	for (i = 0; i < r.nios; i++) {
		free(r.ios[i].base);
	}
	free(r.ios);
	free(r.model);
	free(all);
}

#endif /* VHOSTD_BDEV_UT_COMMON_H */

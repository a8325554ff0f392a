/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-perf: a load generator and data-integrity checker for any
 * vhost-user-blk / vhost-user-scsi socket, built on lib/virtio.
 *
 * One pthread per queue, pinned round-robin to the cores of -c, busy-polling
 * the used ring (or sleeping on the call eventfd with --wait). Latency goes
 * into a log-linear histogram per queue; the totals merge the histograms.
 *
 * --verify tags every block written with (lba, generation, seed), checks
 * every block read against the generation this run last wrote there, and
 * reads the whole region back at the end. Chunks (I/O-size units) are
 * owned by one queue each, and a chunk is never in flight twice, so the
 * expected content is always known.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/cpuset.h"
#include "vhostd/log.h"
#include "vhostd/util.h"
#include "vhostd/virtio.h"

#define PERF_MAX_QUEUES		32
#define PERF_MAX_MISMATCH_LOG	20
#define VERIFY_MAGIC		0x5646525950484856ull	/* "VHHPYRFV" */
#define GEN_UNKNOWN		UINT32_MAX

#define HIST_SUB_BITS	5
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

enum rw_mode { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW };
enum phase { PH_PREFILL, PH_RUN, PH_READBACK };

struct perf_opts {
	const char	*sock;
	bool		scsi;
	uint8_t		target;
	uint16_t	lun;
	enum rw_mode	rw;
	uint32_t	read_pct;
	uint32_t	qd;
	uint32_t	io_size;
	uint32_t	seconds;
	uint32_t	nqueues;
	struct cpuset	cpus;
	bool		have_cpus;
	bool		packed;
	bool		verify;
	bool		verify_fill;
	bool		verify_check;
	bool		json;
	bool		wait;
	bool		echo;
	bool		echo_inline;
	int		echo_cpu;
	bool		no_event_idx;
	uint64_t	rate;		/* total IOPS cap, 0 = unlimited */
	bool		no_indirect;
	uint64_t	size;
	uint32_t	seed;
	uint32_t	timeout_ms;
	uint16_t	queue_size;
	bool		reconnect;
	uint32_t	reconnect_ms;
	bool		no_inflight;
};

struct hist {
	uint64_t	b[HIST_BUCKETS];
};

struct qstats {
	uint64_t	ios;
	uint64_t	bytes;
	uint64_t	errors;
	uint64_t	mismatches;
	uint64_t	lat_sum;
	struct hist	h;
};

struct worker;

struct task {
	struct worker	*w;
	struct task	*next;
	uint8_t		*buf;
	struct iovec	iov;
	uint64_t	chunk;
	uint64_t	start;
	uint32_t	gen;
	bool		write;
};

struct worker {
	uint32_t		qi;
	int			cpu;
	pthread_t		th;
	struct virtio_vq	*vq;
	struct task		*tasks;
	struct task		*free;
	uint32_t		inflight;
	uint64_t		rng;
	enum phase		phase;
	uint64_t		cursor;		/* next owned chunk for sequential phases */
	bool			measure;
	uint64_t		last_progress;
	uint64_t		now;		/* clock read once per batch, not per I/O */
	uint64_t		issued;		/* in the timed phase, for --rate */
	uint64_t		phase_start;
	struct qstats		st;
	_Atomic uint64_t	live_ios;
	_Atomic uint64_t	live_bytes;
	int			rc;
};

static struct perf_opts g_o = {
	.rw = RW_RANDREAD, .read_pct = 70, .qd = 32, .io_size = 4096, .seconds = 5, .nqueues = 1,
	.seed = 1, .timeout_ms = 10000, .echo_cpu = -1, .reconnect_ms = 30000,
};
static struct virtio_dev *g_dev;
static uint64_t g_nchunks;
static uint32_t g_blk_size = 512;
static uint32_t *g_gen;		/* per chunk: generation last written (0 = never) */
static uint8_t *g_busy;		/* per chunk: in flight */
static struct worker g_workers[PERF_MAX_QUEUES];
static _Atomic uint32_t g_ready;	/* workers done with the prefill */
static uint64_t g_run_start;
static _Atomic uint64_t g_run_end;
static _Atomic bool g_stop;
static _Atomic uint64_t g_mismatch_logged;
static _Atomic uint32_t g_workers_done;
static _Atomic bool g_abort;	/* --reconnect gave up: the workers stop waiting */

static inline uint64_t
now_ns(void)
{
	return util_get_ticks();
}

static inline uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t
mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t
hist_index(uint64_t v)
{
	uint32_t msb, shift;

	if (v < 2 * HIST_SUB) {
		return (uint32_t)v;
	}
	msb = 63 - (uint32_t)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB + (uint32_t)((v >> shift) - HIST_SUB);
}

/* Middle of bucket `i`. */
static uint64_t
hist_value(uint32_t i)
{
	uint32_t shift;
	uint64_t low;

	if (i < 2 * HIST_SUB) {
		return i;
	}
	shift = i / HIST_SUB - 1;
	low = (uint64_t)(i % HIST_SUB + HIST_SUB) << shift;
	return low + ((1ull << shift) >> 1);
}

static uint64_t
hist_percentile(const struct hist *h, uint64_t total, double pct)
{
	uint64_t want = (uint64_t)((double)total * pct / 100.0 + 0.999999), acc = 0;
	uint32_t i;

	if (total == 0) {
		return 0;
	}
	if (want == 0) {
		want = 1;
	}
	for (i = 0; i < HIST_BUCKETS; i++) {
		acc += h->b[i];
		if (acc >= want) {
			return hist_value(i);
		}
	}
	return hist_value(HIST_BUCKETS - 1);
}

/* ---- verify tags ---- */

struct block_tag {
	uint64_t	magic;
	uint64_t	lba;		/* in blocks of g_blk_size */
	uint32_t	gen;
	uint32_t	seed;
	uint64_t	check;		/* mix of the three */
};

static void
tag_fill(uint8_t *buf, uint64_t lba, uint32_t gen)
{
	struct block_tag *t = (struct block_tag *)buf;
	uint64_t *w = (uint64_t *)buf, x;
	uint32_t i;

	t->magic = VERIFY_MAGIC;
	t->lba = lba;
	t->gen = gen;
	t->seed = g_o.seed;
	t->check = mix64(lba ^ ((uint64_t)gen << 32) ^ g_o.seed);
	x = t->check;
	for (i = sizeof(*t) / 8; i < g_blk_size / 8; i++) {
		x = mix64(x + i);
		w[i] = x;
	}
}

/* 0 if the block holds exactly (lba, gen, seed); else logs and returns -1. */
static int
tag_check(const uint8_t *buf, uint64_t lba, uint32_t gen)
{
	const struct block_tag *t = (const struct block_tag *)buf;
	const uint64_t *w = (const uint64_t *)buf;
	uint64_t x = mix64(lba ^ ((uint64_t)gen << 32) ^ g_o.seed);
	uint32_t i;
	const char *why = NULL;

	if (t->magic != VERIFY_MAGIC) {
		why = "no tag";
	} else if (t->lba != lba || t->gen != gen || t->seed != g_o.seed || t->check != x) {
		why = "wrong tag";
	} else {
		for (i = sizeof(*t) / 8; i < g_blk_size / 8; i++) {
			x = mix64(x + i);
			if (w[i] != x) {
				why = "payload differs";
				break;
			}
		}
	}
	if (why == NULL) {
		return 0;
	}
	if (atomic_fetch_add(&g_mismatch_logged, 1) < PERF_MAX_MISMATCH_LOG) {
		fprintf(stderr,
			"MISMATCH lba %" PRIu64 " (block %u B, byte offset %" PRIu64 "): %s: "
			"expected gen %u seed %u, found magic %s lba %" PRIu64 " gen %u seed %u\n",
			lba, g_blk_size, lba * g_blk_size, why, gen, g_o.seed,
			t->magic == VERIFY_MAGIC ? "ok" : "bad", t->lba, t->gen, t->seed);
	}
	return -1;
}

/* ---- I/O ---- */

static bool
rw_is_random(void)
{
	return g_o.rw == RW_RANDREAD || g_o.rw == RW_RANDWRITE || g_o.rw == RW_RANDRW;
}

static bool
rw_has_reads(void)
{
	return g_o.rw == RW_READ || g_o.rw == RW_RANDREAD || g_o.rw == RW_RANDRW;
}

static void task_done(void *arg, const struct virtio_req_result *res);

static int
task_submit(struct worker *w, struct task *t)
{
	uint64_t off = t->chunk * g_o.io_size;

	t->iov.iov_base = t->buf;
	t->iov.iov_len = g_o.io_size;
	t->start = w->now;
	if (g_o.scsi) {
		uint64_t lba = off / g_blk_size;
		uint32_t nb = g_o.io_size / g_blk_size;
		uint8_t cdb[16] = {t->write ? 0x8a : 0x88};
		int i;

		for (i = 0; i < 8; i++) {
			cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
		}
		for (i = 0; i < 4; i++) {
			cdb[10 + i] = (uint8_t)(nb >> (24 - 8 * i));
		}
		return virtio_scsi_submit(w->vq, g_o.target, g_o.lun, cdb, 16, &t->iov, 1, t->write,
					  task_done, t);
	}
	return virtio_blk_submit(w->vq, t->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, off / 512,
				 &t->iov, 1, task_done, t);
}

static void
task_done(void *arg, const struct virtio_req_result *res)
{
	struct task *t = arg;
	struct worker *w = t->w;
	uint64_t lat = w->now - t->start, nblk, i;
	bool ok;

	if (g_o.scsi) {
		ok = res->status == VIRTIO_SCSI_S_OK && res->scsi != NULL && res->scsi->status == 0;
	} else {
		ok = res->status == VIRTIO_BLK_S_OK;
	}
	w->inflight--;
	w->last_progress = w->now;
	if (!ok) {
		w->st.errors++;
		if (w->st.errors <= 5) {
			fprintf(stderr, "queue %u: %s at byte offset %" PRIu64 " failed: status %d%s\n",
				w->qi, t->write ? "write" : "read", t->chunk * g_o.io_size,
				res->status,
				res->scsi ? (res->scsi->status ? " (scsi check condition)" : "") : "");
		}
	}
	if (g_gen != NULL) {
		nblk = g_o.io_size / g_blk_size;
		if (t->write) {
			g_gen[t->chunk] = ok ? t->gen : GEN_UNKNOWN;
		} else if (ok && t->gen != 0 && t->gen != GEN_UNKNOWN) {
			for (i = 0; i < nblk; i++) {
				if (tag_check(t->buf + i * g_blk_size,
					      t->chunk * nblk + i, t->gen) != 0) {
					w->st.mismatches++;
				}
			}
		}
		g_busy[t->chunk] = 0;
	}
	if (w->measure) {
		w->st.ios++;
		w->st.bytes += g_o.io_size;
		w->st.lat_sum += lat;
		w->st.h.b[hist_index(lat)]++;
		atomic_store_explicit(&w->live_ios, w->st.ios, memory_order_relaxed);
		atomic_store_explicit(&w->live_bytes, w->st.bytes, memory_order_relaxed);
	}
	t->next = w->free;
	w->free = t;
}

static uint64_t
owned_chunks(const struct worker *w)
{
	return (g_nchunks - w->qi + g_o.nqueues - 1) / g_o.nqueues;
}

/* Choose the next I/O for `t`; false when this phase has nothing more to issue. */
static bool
task_prepare(struct worker *w, struct task *t)
{
	uint64_t c, owned = owned_chunks(w), tries;
	uint32_t nblk = g_o.io_size / g_blk_size, i;

	switch (w->phase) {
	case PH_PREFILL:
	case PH_READBACK:
		if (w->cursor >= owned) {
			return false;
		}
		c = w->cursor++ * g_o.nqueues + w->qi;
		t->write = w->phase == PH_PREFILL;
		break;
	case PH_RUN:
	default:
		if (g_o.rw == RW_RANDRW) {
			t->write = rng_next(&w->rng) % 100 >= g_o.read_pct;
		} else {
			t->write = g_o.rw == RW_WRITE || g_o.rw == RW_RANDWRITE;
		}
		if (g_gen == NULL) {
			if (rw_is_random()) {
				c = rng_next(&w->rng) % g_nchunks;
			} else {
				c = w->cursor++ % g_nchunks;
			}
			break;
		}
		/* verify: only chunks this queue owns and that are not in flight */
		for (tries = 0; tries < 4ull * g_o.qd + 4; tries++) {
			if (rw_is_random()) {
				c = (rng_next(&w->rng) % owned) * g_o.nqueues + w->qi;
			} else {
				c = (w->cursor++ % owned) * g_o.nqueues + w->qi;
			}
			if (!g_busy[c]) {
				break;
			}
		}
		if (g_busy[c]) {
			return false;
		}
		break;
	}
	t->chunk = c;
	if (g_gen != NULL) {
		g_busy[c] = 1;
		if (t->write) {
			t->gen = (g_gen[c] == GEN_UNKNOWN ? 0 : g_gen[c]) + 1;
			for (i = 0; i < nblk; i++) {
				tag_fill(t->buf + (size_t)i * g_blk_size, c * nblk + i, t->gen);
			}
		} else {
			t->gen = g_gen[c];
			/* stale data from an earlier read must not pass as the device's */
			memset(t->buf, 0xa5, g_blk_size);
		}
	}
	return true;
}

/* Run one phase on worker `w` until it has issued and reaped everything. */
static int
worker_phase(struct worker *w, uint64_t end_ns)
{
	uint64_t idle = 0, now;
	bool more = true;
	uint64_t stall_ns = (uint64_t)g_o.timeout_ms * 1000000ull;
	struct task *t;
	int rc, n;

	if (g_o.reconnect) {
		/* a restart of the server is not a stall: allow for the reconnect too */
		stall_ns += (uint64_t)g_o.reconnect_ms * 1000000ull;
	}
	w->last_progress = now_ns();
	w->phase_start = w->last_progress;
	w->issued = 0;
	for (;;) {
		if (more && w->free != NULL) {
			w->now = now_ns();
		}
		while (more && w->free != NULL) {
			if (end_ns != 0 && (atomic_load_explicit(&g_stop, memory_order_relaxed) ||
					    w->now >= end_ns)) {
				more = false;
				break;
			}
			if (g_o.rate && w->phase == PH_RUN &&
			    w->issued >= (w->now - w->phase_start) / 1000 * (g_o.rate / g_o.nqueues) /
						   1000000 + 1) {
				break;
			}
			t = w->free;
			if (!task_prepare(w, t)) {
				if (w->phase != PH_RUN) {
					more = false;
				}
				break;
			}
			w->free = t->next;
			rc = task_submit(w, t);
			if (rc != 0) {
				if (g_busy) {
					g_busy[t->chunk] = 0;
				}
				t->next = w->free;
				w->free = t;
				if (rc != -ENOSPC) {
					fprintf(stderr, "queue %u: submit: %s\n", w->qi, strerror(-rc));
					return rc;
				}
				break;
			}
			w->inflight++;
			w->issued++;
		}
		virtio_vq_notify(w->vq);
		if (g_o.echo_inline) {
			virtio_vq_echo_serve(w->vq, UINT32_MAX);
		}
		if (w->inflight == 0) {
			n = 0;
		} else if (!virtio_vq_has_used(w->vq)) {
			n = 0;
		} else {
			/* completions seen now: one clock read stamps the whole batch */
			w->now = now_ns();
			n = virtio_vq_process(w->vq, 256);
		}
		if (n > 0) {
			idle = 0;
			continue;
		}
		if (!more && w->inflight == 0) {
			return 0;
		}
		if (w->inflight == 0) {
			continue;
		}
		if (g_o.wait) {
			rc = virtio_vq_wait(w->vq, g_o.timeout_ms);
			virtio_vq_disable_interrupts(w->vq);
			if (rc == -ENOTCONN) {
				fprintf(stderr, "queue %u: server disconnected\n", w->qi);
				return rc;
			}
		} else {
			/* spinning: look at the clock and the socket only now and then */
			if ((++idle & 0xff) != 0) {
				continue;
			}
			if ((idle & 0xfff) == 0 && !g_o.reconnect &&
			    !virtio_dev_is_connected(g_dev) && !virtio_vq_has_used(w->vq)) {
				fprintf(stderr, "queue %u: server disconnected\n", w->qi);
				return -ENOTCONN;
			}
		}
		if (atomic_load_explicit(&g_abort, memory_order_relaxed)) {
			fprintf(stderr, "queue %u: server gone, %u requests lost\n", w->qi,
				w->inflight);
			return -ENOTCONN;
		}
		now = now_ns();
		if (now - w->last_progress > stall_ns) {
			fprintf(stderr, "queue %u: no completion for %" PRIu64 " ms with %u in flight\n",
				w->qi, stall_ns / 1000000, w->inflight);
			return -ETIMEDOUT;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = 0;

	if (w->cpu >= 0) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(w->cpu, &cs);
		pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	}
	if (!g_o.wait) {
		virtio_vq_disable_interrupts(w->vq);
	}
	if (g_gen != NULL && (g_o.verify_fill || (g_o.verify && rw_has_reads()))) {
		w->phase = PH_PREFILL;
		w->cursor = 0;
		w->measure = g_o.verify_fill;
		rc = worker_phase(w, 0);
		w->measure = false;
	}
	atomic_fetch_add(&g_ready, 1);
	while (atomic_load(&g_run_end) == 0) {
		sched_yield();
	}
	if (rc == 0 && !g_o.verify_fill && !g_o.verify_check) {
		w->phase = PH_RUN;
		w->cursor = rw_is_random() ? 0 : (g_gen ? 0 : w->qi * (g_nchunks / g_o.nqueues));
		w->measure = true;
		rc = worker_phase(w, g_run_end);
		w->measure = false;
	}
	if (rc == 0 && g_gen != NULL && !g_o.verify_fill) {
		w->phase = PH_READBACK;
		w->cursor = 0;
		if (g_o.verify_check) {
			w->measure = true;
		}
		rc = worker_phase(w, 0);
		w->measure = false;
	}
	w->rc = rc;
	atomic_store(&g_stop, true);
	atomic_fetch_add(&g_workers_done, 1);
	return NULL;
}

static pthread_t g_echo_th[PERF_MAX_QUEUES];
static _Atomic bool g_echo_stop;

/* --echo: the in-process null device for one queue. */
static void *
echo_main(void *arg)
{
	struct virtio_vq *vq = arg;

	if (g_o.echo_cpu >= 0) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(g_o.echo_cpu, &cs);
		pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	}
	while (!atomic_load_explicit(&g_echo_stop, memory_order_relaxed)) {
		if (virtio_vq_echo_serve(vq, 256) == 0) {
			__builtin_ia32_pause();
		}
	}
	return NULL;
}

/* ---- setup and report ---- */

static void
capacity_done(void *arg, const struct virtio_req_result *res)
{
	int *status = arg;

	*status = (res->status == VIRTIO_SCSI_S_OK && res->scsi && res->scsi->status == 0) ? 0 :
		  -EIO;
	/* A unit attention (power on, capacity changed...) is reported once: retry. */
	if (*status == -EIO && res->status == VIRTIO_SCSI_S_OK && res->scsi != NULL &&
	    res->scsi->status == 0x02 && res->scsi->sense_len >= 3 &&
	    (res->scsi->sense[(res->scsi->sense[0] & 0x7f) >= 0x72 ? 1 : 2] & 0x0f) == 0x06) {
		*status = -EAGAIN;
	}
}

static int
scsi_read_capacity(struct virtio_vq *vq, uint64_t *bytes, uint32_t *blk)
{
	uint8_t cdb[16] = {0x9e, 0x10}, *buf;
	struct iovec iov;
	int rc, status = 1, i;

	buf = virtio_mem_alloc(virtio_dev_mem(g_dev), 32, 64);
	if (buf == NULL) {
		return -ENOMEM;
	}
	cdb[13] = 32;
	iov.iov_base = buf;
	iov.iov_len = 32;
	for (i = 0; i < 4 && status != 0; i++) {
		status = 1;
		rc = virtio_scsi_submit(vq, g_o.target, g_o.lun, cdb, 16, &iov, 1, false,
					capacity_done, &status);
		if (rc != 0) {
			return rc;
		}
		virtio_vq_notify(vq);
		if (g_o.echo) {
			/* the echo threads are not running yet */
			virtio_vq_echo_serve(vq, 1);
		}
		while (status == 1) {
			rc = virtio_vq_wait(vq, g_o.timeout_ms);
			if (rc != 0) {
				return rc;
			}
			virtio_vq_process(vq, 1);
		}
		if (status != -EAGAIN) {
			break;
		}
	}
	if (status != 0) {
		return status;
	}
	*bytes = 0;
	for (i = 0; i < 8; i++) {
		*bytes = (*bytes << 8) | buf[i];
	}
	*blk = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
	if (*blk < 512 || !VHD_IS_POW2(*blk)) {
		return -EIO;
	}
	*bytes = (*bytes + 1) * *blk;
	return 0;
}

static void
stats_merge(struct qstats *dst, const struct qstats *src)
{
	uint32_t i;

	dst->ios += src->ios;
	dst->bytes += src->bytes;
	dst->errors += src->errors;
	dst->mismatches += src->mismatches;
	dst->lat_sum += src->lat_sum;
	for (i = 0; i < HIST_BUCKETS; i++) {
		dst->h.b[i] += src->h.b[i];
	}
}

static void
stats_print(const char *name, const struct qstats *s, double secs, bool json, bool last)
{
	double iops = secs > 0 ? (double)s->ios / secs : 0;
	double mibs = secs > 0 ? (double)s->bytes / secs / 1048576.0 : 0;
	double avg = s->ios ? (double)s->lat_sum / (double)s->ios / 1000.0 : 0;
	double p50 = (double)hist_percentile(&s->h, s->ios, 50) / 1000.0;
	double p99 = (double)hist_percentile(&s->h, s->ios, 99) / 1000.0;
	double p999 = (double)hist_percentile(&s->h, s->ios, 99.9) / 1000.0;

	if (json) {
		printf("    \"%s\": {\"ios\": %" PRIu64 ", \"iops\": %.0f, \"mib_s\": %.2f, "
		       "\"avg_us\": %.3f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, "
		       "\"errors\": %" PRIu64 ", \"mismatches\": %" PRIu64 "}%s\n",
		       name, s->ios, iops, mibs, avg, p50, p99, p999, s->errors, s->mismatches,
		       last ? "" : ",");
	} else {
		printf("%-8s %12.0f %10.2f %10.2f %10.2f %10.2f %10.2f %8" PRIu64 " %8" PRIu64 "\n",
		       name, iops, mibs, avg, p50, p99, p999, s->errors, s->mismatches);
	}
}

static const char *
rw_name(enum rw_mode rw)
{
	static const char *names[] = {"read", "write", "randread", "randwrite", "randrw"};

	if (g_o.verify_fill) {
		return "verify-fill";
	}
	if (g_o.verify_check) {
		return "verify-check";
	}
	return names[rw];
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: vhost-perf -s SOCK [-t blk|scsi] [--target N --lun N]\n"
		"        -w randread|randwrite|read|write|randrw [-M READ_PCT] -q QD -o SIZE\n"
		"        -T SECONDS [--queues N] [-c CPUMASK] [--packed] [--verify] [--json]\n"
		"        [--wait] [--size BYTES] [--seed N] [--queue-size N] [--timeout-ms N]\n"
		"        [--verify-fill | --verify-check] [--reconnect] | --echo ...\n"
		"  --verify        tag every written block with (lba, generation, seed), check\n"
		"                  every read, read the region back at the end\n"
		"  --verify-fill   write the region once (generation 1) and exit\n"
		"  --verify-check  read the region and check generation 1 (after --verify-fill)\n"
		"  --wait          sleep on the call eventfd instead of busy-polling\n"
		"  --echo          no server: an in-process null device completes every request\n"
		"                  (one thread per queue) - measures the client's own ceiling\n"
		"  --echo-cpu N    pin the --echo device threads to cpu N\n"
		"  --rate IOPS     cap the total rate (spread over the queues), e.g. to measure\n"
		"                  server CPU at a fixed load\n"
		"  --echo-inline   --echo served by each worker thread itself: the client's\n"
		"                  own cost per I/O, immune to cross-core scheduling\n"
		"  --no-event-idx, --no-indirect   refuse these ring features\n"
		"  --reconnect     when the server goes away (killed, restarted), reconnect to\n"
		"                  the socket and carry on: requests in flight are resubmitted\n"
		"                  by the new server from the inflight region (INFLIGHT_SHMFD)\n"
		"  -L virtio       debug log of lib/virtio (vhost-user messages)\n"
		"  --no-inflight   refuse INFLIGHT_SHMFD (a reconnect then loses requests)\n"
		"  --reconnect-timeout-ms N   give up when no server is back after N ms\n"
		"                  (default 30000)\n"
		"exit: 0 ok, 1 I/O errors or mismatches, 2 usage, 3 connection/setup failure\n");
}

static int
parse_u32(const char *s, uint32_t *v, uint64_t max)
{
	uint64_t x;
	char *end;
	int rc = util_parse_u64(s, &x);

	if (rc != 0) {
		/* accept size suffixes k/m/g */
		errno = 0;
		x = strtoull(s, &end, 0);
		if (errno || end == s || end[1] != '\0') {
			return -EINVAL;
		}
		switch (*end) {
		case 'k': case 'K': x <<= 10; break;
		case 'm': case 'M': x <<= 20; break;
		case 'g': case 'G': x <<= 30; break;
		default: return -EINVAL;
		}
	}
	if (x > max) {
		return -ERANGE;
	}
	*v = (uint32_t)x;
	return 0;
}

static int
parse_args(int argc, char **argv)
{
	enum { O_TARGET = 256, O_LUN, O_QUEUES, O_PACKED, O_VERIFY, O_JSON, O_WAIT, O_SIZE,
	       O_SEED, O_QSIZE, O_TIMEOUT, O_FILL, O_CHECK, O_ECHO, O_ECHO_CPU, O_NO_EVIDX, O_NO_INDIRECT,
	       O_ECHO_INLINE, O_RATE, O_RECONNECT, O_RECONNECT_MS, O_NO_INFLIGHT };
	static const struct option lopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"type", required_argument, NULL, 't'},
		{"target", required_argument, NULL, O_TARGET},
		{"lun", required_argument, NULL, O_LUN},
		{"queues", required_argument, NULL, O_QUEUES},
		{"packed", no_argument, NULL, O_PACKED},
		{"verify", no_argument, NULL, O_VERIFY},
		{"verify-fill", no_argument, NULL, O_FILL},
		{"verify-check", no_argument, NULL, O_CHECK},
		{"json", no_argument, NULL, O_JSON},
		{"wait", no_argument, NULL, O_WAIT},
		{"echo", no_argument, NULL, O_ECHO},
		{"echo-cpu", required_argument, NULL, O_ECHO_CPU},
		{"echo-inline", no_argument, NULL, O_ECHO_INLINE},
		{"rate", required_argument, NULL, O_RATE},
		{"no-event-idx", no_argument, NULL, O_NO_EVIDX},
		{"no-indirect", no_argument, NULL, O_NO_INDIRECT},
		{"size", required_argument, NULL, O_SIZE},
		{"seed", required_argument, NULL, O_SEED},
		{"queue-size", required_argument, NULL, O_QSIZE},
		{"timeout-ms", required_argument, NULL, O_TIMEOUT},
		{"reconnect", no_argument, NULL, O_RECONNECT},
		{"no-inflight", no_argument, NULL, O_NO_INFLIGHT},
		{"reconnect-timeout-ms", required_argument, NULL, O_RECONNECT_MS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint32_t v;
	uint64_t v64;
	int c;

	while ((c = getopt_long(argc, argv, "s:t:w:M:q:o:T:c:L:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			g_o.sock = optarg;
			break;
		case 't':
			if (strcmp(optarg, "blk") == 0) {
				g_o.scsi = false;
			} else if (strcmp(optarg, "scsi") == 0) {
				g_o.scsi = true;
			} else {
				fprintf(stderr, "-t: blk or scsi\n");
				return -EINVAL;
			}
			break;
		case O_TARGET:
			if (parse_u32(optarg, &v, 255)) {
				goto bad;
			}
			g_o.target = (uint8_t)v;
			break;
		case O_LUN:
			if (parse_u32(optarg, &v, 0x3fff)) {
				goto bad;
			}
			g_o.lun = (uint16_t)v;
			break;
		case 'w':
			if (strcmp(optarg, "read") == 0) {
				g_o.rw = RW_READ;
			} else if (strcmp(optarg, "write") == 0) {
				g_o.rw = RW_WRITE;
			} else if (strcmp(optarg, "randread") == 0) {
				g_o.rw = RW_RANDREAD;
			} else if (strcmp(optarg, "randwrite") == 0) {
				g_o.rw = RW_RANDWRITE;
			} else if (strcmp(optarg, "randrw") == 0) {
				g_o.rw = RW_RANDRW;
			} else {
				goto bad;
			}
			break;
		case 'M':
			if (parse_u32(optarg, &g_o.read_pct, 100)) {
				goto bad;
			}
			break;
		case 'q':
			if (parse_u32(optarg, &g_o.qd, 1024) || g_o.qd == 0) {
				goto bad;
			}
			break;
		case 'o':
			if (parse_u32(optarg, &g_o.io_size, 1u << 20) || g_o.io_size < 512 ||
			    g_o.io_size % 512) {
				goto bad;
			}
			break;
		case 'T':
			if (parse_u32(optarg, &g_o.seconds, 86400)) {
				goto bad;
			}
			break;
		case O_QUEUES:
			if (parse_u32(optarg, &g_o.nqueues, PERF_MAX_QUEUES) || g_o.nqueues == 0) {
				goto bad;
			}
			break;
		case 'c':
			if (cpuset_parse(&g_o.cpus, optarg) != 0) {
				goto bad;
			}
			g_o.have_cpus = true;
			break;
		case O_PACKED:
			g_o.packed = true;
			break;
		case O_VERIFY:
			g_o.verify = true;
			break;
		case O_FILL:
			g_o.verify_fill = true;
			break;
		case O_CHECK:
			g_o.verify_check = true;
			break;
		case O_JSON:
			g_o.json = true;
			break;
		case O_WAIT:
			g_o.wait = true;
			break;
		case O_ECHO:
			g_o.echo = true;
			break;
		case O_RATE:
			if (util_parse_u64(optarg, &g_o.rate) != 0 || g_o.rate == 0) {
				goto bad;
			}
			break;
		case O_ECHO_INLINE:
			g_o.echo = true;
			g_o.echo_inline = true;
			break;
		case O_ECHO_CPU:
			if (parse_u32(optarg, &v, CPUSET_MAX_CPUS - 1)) {
				goto bad;
			}
			g_o.echo_cpu = (int)v;
			break;
		case O_NO_EVIDX:
			g_o.no_event_idx = true;
			break;
		case O_NO_INDIRECT:
			g_o.no_indirect = true;
			break;
		case O_SIZE:
			if (util_parse_u64(optarg, &v64) != 0) {
				if (parse_u32(optarg, &v, UINT32_MAX)) {
					goto bad;
				}
				v64 = v;
			}
			g_o.size = v64;
			break;
		case O_SEED:
			if (parse_u32(optarg, &g_o.seed, UINT32_MAX)) {
				goto bad;
			}
			break;
		case O_QSIZE:
			if (parse_u32(optarg, &v, 32768) || v == 0) {
				goto bad;
			}
			g_o.queue_size = (uint16_t)v;
			break;
		case O_TIMEOUT:
			if (parse_u32(optarg, &g_o.timeout_ms, 3600000) || g_o.timeout_ms == 0) {
				goto bad;
			}
			break;
		case O_RECONNECT:
			g_o.reconnect = true;
			break;
		case O_NO_INFLIGHT:
			g_o.no_inflight = true;
			break;
		case O_RECONNECT_MS:
			if (parse_u32(optarg, &g_o.reconnect_ms, 3600000) || g_o.reconnect_ms == 0) {
				goto bad;
			}
			break;
		case 'L':
			if (log_set_flag(optarg, true) != 0) {
				goto bad;
			}
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (g_o.echo) {
		if (g_o.sock != NULL || g_o.verify || g_o.verify_fill || g_o.verify_check ||
		    g_o.wait || g_o.reconnect) {
			fprintf(stderr, "--echo excludes -s, --wait, --reconnect and the verify modes\n");
			return -EINVAL;
		}
		g_o.sock = "echo";
	}
	if (g_o.sock == NULL || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (g_o.verify_fill && g_o.verify_check) {
		fprintf(stderr, "--verify-fill and --verify-check exclude each other\n");
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "invalid value for -%c: %s\n", c < 256 ? c : '-', optarg);
	return -EINVAL;
}

/* Main thread, while the workers run: reconnect when the server went away. */
static void
perf_watch(void)
{
	int rc;

	if (!g_o.reconnect || atomic_load(&g_abort) || virtio_dev_is_connected(g_dev)) {
		return;
	}
	rc = virtio_dev_reconnect(g_dev, g_o.reconnect_ms);
	if (rc != 0) {
		fprintf(stderr, "vhost-perf: reconnect: %s\n", strerror(-rc));
		atomic_store(&g_abort, true);
		atomic_store(&g_stop, true);
	} else {
		fprintf(stderr, "vhost-perf: reconnected (%u)\n", virtio_dev_reconnects(g_dev));
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

int
main(int argc, char **argv)
{
	struct virtio_dev_opts dopts = {0};
	struct qstats total;
	struct virtio_mem *mem;
	uint64_t cap_bytes = 0, per_queue, last_ios = 0, last_bytes = 0, t0;
	uint32_t i, j, first_rq, qsize;
	bool tty, verify;
	double secs;
	int rc, cpu = -1, exit_rc = 0;

	if (parse_args(argc, argv) != 0) {
		return 2;
	}
	verify = g_o.verify || g_o.verify_fill || g_o.verify_check;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* direct chains: header + data + status = 3 descriptors per request */
	qsize = g_o.queue_size;
	if (qsize == 0) {
		qsize = 16;
		while (qsize < 3 * g_o.qd && qsize < 1024) {
			qsize *= 2;
		}
	}
	first_rq = g_o.scsi ? 2 : 0;
	per_queue = (uint64_t)g_o.qd * g_o.io_size + (uint64_t)qsize * (16 + 16 + 1024) +
		    (uint64_t)g_o.qd * 512 + 65536;
	dopts.socket_path = g_o.sock;
	dopts.type = g_o.scsi ? VIRTIO_DEV_SCSI : VIRTIO_DEV_BLK;
	dopts.timeout_ms = g_o.timeout_ms;
	dopts.packed = g_o.packed;
	if (g_o.no_event_idx) {
		dopts.features_refuse |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	}
	if (g_o.no_indirect) {
		dopts.features_refuse |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	}
	dopts.num_queues = (uint16_t)(first_rq + g_o.nqueues);
	dopts.queue_size = (uint16_t)qsize;
	dopts.slots_per_queue = (uint16_t)g_o.qd + 1;
	dopts.reconnect = g_o.reconnect;
	if (g_o.no_inflight) {
		dopts.protocol_features_refuse |= 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
	}
	dopts.mem_size = VHD_ALIGN_UP(per_queue * dopts.num_queues + (1u << 20), 1ull << 21);

	if (g_o.echo) {
		rc = virtio_dev_create_loopback(&dopts, &g_dev);
	} else {
		rc = virtio_dev_open(&dopts, &g_dev);
	}
	if (rc != 0) {
		fprintf(stderr, "vhost-perf: %s: %s\n", g_o.sock, strerror(-rc));
		return 3;
	}
	mem = virtio_dev_mem(g_dev);
	if (g_o.scsi) {
		rc = scsi_read_capacity(virtio_dev_vq(g_dev, first_rq), &cap_bytes, &g_blk_size);
		if (rc != 0) {
			fprintf(stderr, "vhost-perf: READ CAPACITY(16) target %u lun %u: %s\n",
				g_o.target, g_o.lun, strerror(-rc));
			exit_rc = 3;
			goto out;
		}
	} else {
		struct virtio_blk_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		rc = virtio_dev_get_config(g_dev, &cfg, 0, 60);
		if (rc == 0) {
			cap_bytes = cfg.capacity * 512;
			if (virtio_dev_has_feature(g_dev, VIRTIO_BLK_F_BLK_SIZE) && cfg.blk_size >= 512 &&
			    VHD_IS_POW2(cfg.blk_size)) {
				g_blk_size = cfg.blk_size;
			}
		} else if (g_o.size == 0) {
			fprintf(stderr, "vhost-perf: no GET_CONFIG (%s): give --size\n",
				strerror(-rc));
			exit_rc = 3;
			goto out;
		}
		if (virtio_dev_has_feature(g_dev, VIRTIO_BLK_F_RO) &&
		    (g_o.verify || g_o.verify_fill ||
		     (g_o.rw != RW_READ && g_o.rw != RW_RANDREAD && !g_o.verify_check))) {
			fprintf(stderr, "vhost-perf: device is read-only\n");
			exit_rc = 3;
			goto out;
		}
	}
	if (g_o.size == 0 || (cap_bytes != 0 && g_o.size > cap_bytes)) {
		g_o.size = cap_bytes;
		if (verify && g_o.size > (256ull << 20)) {
			g_o.size = 256ull << 20;
		}
	}
	if (g_o.io_size % g_blk_size) {
		fprintf(stderr, "vhost-perf: -o %u is not a multiple of the block size %u\n",
			g_o.io_size, g_blk_size);
		exit_rc = 2;
		goto out;
	}
	g_nchunks = g_o.size / g_o.io_size;
	if (g_nchunks < g_o.nqueues || (verify && g_nchunks / g_o.nqueues < 2ull * g_o.qd)) {
		fprintf(stderr, "vhost-perf: region of %" PRIu64 " bytes too small\n", g_o.size);
		exit_rc = 2;
		goto out;
	}
	if (verify) {
		g_gen = calloc(g_nchunks, sizeof(*g_gen));
		g_busy = calloc(g_nchunks, 1);
		if (g_gen == NULL || g_busy == NULL) {
			exit_rc = 3;
			goto out;
		}
		if (g_o.verify_check) {
			for (j = 0; j < g_nchunks; j++) {
				g_gen[j] = 1;
			}
		}
	}

	for (i = 0; i < g_o.nqueues; i++) {
		struct worker *w = &g_workers[i];

		w->qi = i;
		w->vq = virtio_dev_vq(g_dev, (uint16_t)(first_rq + i));
		w->rng = mix64(g_o.seed * 7919ull + i + 1) | 1;
		w->cpu = -1;
		if (g_o.have_cpus) {
			cpu = cpuset_next(&g_o.cpus, cpu + 1);
			if (cpu < 0) {
				cpu = cpuset_next(&g_o.cpus, 0);
			}
			w->cpu = cpu;
		}
		w->tasks = calloc(g_o.qd, sizeof(*w->tasks));
		if (w->tasks == NULL) {
			exit_rc = 3;
			goto out;
		}
		for (j = 0; j < g_o.qd; j++) {
			struct task *t = &w->tasks[j];

			t->w = w;
			t->buf = virtio_mem_alloc(mem, g_o.io_size, 4096);
			if (t->buf == NULL) {
				fprintf(stderr, "vhost-perf: guest memory exhausted\n");
				exit_rc = 3;
				goto out;
			}
			memset(t->buf, 0, g_o.io_size);
			t->next = w->free;
			w->free = t;
		}
	}
	t0 = now_ns();
	for (i = 0; g_o.echo && !g_o.echo_inline && i < g_o.nqueues; i++) {
		pthread_create(&g_echo_th[i], NULL, echo_main,
			       virtio_dev_vq(g_dev, (uint16_t)(first_rq + i)));
	}
	for (i = 0; i < g_o.nqueues; i++) {
		pthread_create(&g_workers[i].th, NULL, worker_main, &g_workers[i]);
	}
	while (atomic_load(&g_ready) < g_o.nqueues) {
		struct timespec ts = {0, 2 * 1000 * 1000};

		nanosleep(&ts, NULL);
		perf_watch();
	}
	g_run_start = now_ns();
	atomic_store(&g_run_end, g_run_start + (uint64_t)g_o.seconds * 1000000000ull);
	tty = isatty(STDOUT_FILENO) && !g_o.json;
	{
		bool timed = !g_o.verify_fill && !g_o.verify_check;
		uint64_t next = g_run_start + 1000000000ull;

		/* Until every worker is done: the progress line, and --reconnect. */
		while (atomic_load(&g_workers_done) < g_o.nqueues) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			nanosleep(&ts, NULL);
			perf_watch();
			if (timed && tty && now_ns() >= next && now_ns() < g_run_end) {
				uint64_t ios = 0, bytes = 0;

				for (i = 0; i < g_o.nqueues; i++) {
					ios += atomic_load(&g_workers[i].live_ios);
					bytes += atomic_load(&g_workers[i].live_bytes);
				}
				printf("\r[%3" PRIu64 "s] %10.0f IOPS %9.2f MiB/s   ",
				       (uint64_t)((next - g_run_start) / 1000000000ull),
				       (double)(ios - last_ios),
				       (double)(bytes - last_bytes) / 1048576.0);
				fflush(stdout);
				last_ios = ios;
				last_bytes = bytes;
				next += 1000000000ull;
			}
		}
		if (timed && tty) {
			printf("\r%60s\r", "");
		}
	}
	for (i = 0; i < g_o.nqueues; i++) {
		pthread_join(g_workers[i].th, NULL);
	}
	atomic_store(&g_echo_stop, true);
	for (i = 0; g_o.echo && !g_o.echo_inline && i < g_o.nqueues; i++) {
		pthread_join(g_echo_th[i], NULL);
	}
	secs = (double)(VHD_MIN(now_ns(), g_run_end) - g_run_start) / 1e9;
	if (g_o.verify_fill) {
		secs = (double)(now_ns() - t0) / 1e9;
	} else if (g_o.verify_check) {
		secs = (double)(now_ns() - g_run_start) / 1e9;
	}

	memset(&total, 0, sizeof(total));
	for (i = 0; i < g_o.nqueues; i++) {
		stats_merge(&total, &g_workers[i].st);
		if (g_workers[i].rc != 0) {
			exit_rc = 1;
		}
	}
	if (g_o.json) {
		printf("{\n  \"socket\": \"%s\", \"type\": \"%s\", \"workload\": \"%s\", "
		       "\"read_pct\": %u, \"qd\": %u, \"io_size\": %u, \"queues\": %u, "
		       "\"seconds\": %.3f, \"packed\": %s, \"verify\": %s, \"reconnects\": %u,\n"
		       "  \"per_queue\": {\n",
		       g_o.sock, g_o.scsi ? "scsi" : "blk", rw_name(g_o.rw), g_o.read_pct, g_o.qd,
		       g_o.io_size, g_o.nqueues, secs, g_o.packed ? "true" : "false",
		       verify ? "true" : "false", g_o.echo ? 0 : virtio_dev_reconnects(g_dev));
		for (i = 0; i < g_o.nqueues; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%u", i);
			stats_print(name, &g_workers[i].st, secs, true, i + 1 == g_o.nqueues);
		}
		printf("  },\n  \"total\": {\n");
		stats_print("all", &total, secs, true, true);
		printf("  }\n}\n");
	} else {
		printf("%s %s qd=%u io=%u queues=%u%s%s time=%.2fs", g_o.scsi ? "scsi" : "blk",
		       rw_name(g_o.rw), g_o.qd, g_o.io_size, g_o.nqueues,
		       g_o.packed ? " packed" : "", verify ? " verify" : "", secs);
		if (g_o.reconnect) {
			printf(" reconnects=%u", virtio_dev_reconnects(g_dev));
		}
		printf("\n");
		printf("%-8s %12s %10s %10s %10s %10s %10s %8s %8s\n", "queue", "IOPS", "MiB/s",
		       "avg_us", "p50_us", "p99_us", "p99.9_us", "errors", "mismatch");
		for (i = 0; i < g_o.nqueues && g_o.nqueues > 1; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%u", i);
			stats_print(name, &g_workers[i].st, secs, false, false);
		}
		stats_print("total", &total, secs, false, true);
	}
	if (total.errors || total.mismatches) {
		fprintf(stderr, "vhost-perf: %" PRIu64 " I/O errors, %" PRIu64 " mismatched blocks\n",
			total.errors, total.mismatches);
		exit_rc = 1;
	}
out:
	/* A clean stop, as QEMU does: the backend answers GET_VRING_BASE per ring. */
	if (g_dev != NULL && !g_o.echo && virtio_dev_is_connected(g_dev)) {
		rc = virtio_dev_stop(g_dev);
		if (rc != 0) {
			fprintf(stderr, "vhost-perf: stop: %s\n", strerror(-rc));
		}
	}
	virtio_dev_destroy(g_dev);
	for (i = 0; i < g_o.nqueues; i++) {
		free(g_workers[i].tasks);
	}
	free(g_gen);
	free(g_busy);
	return exit_rc;
}

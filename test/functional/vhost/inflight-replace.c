/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inflight-replace: does vhostd survive a frontend that replaces or corrupts
 * the inflight region (GET_INFLIGHT_FD / SET_INFLIGHT_FD) at the wrong time,
 * and does it lose a request doing so?
 *
 * vhostd writes each queue's part of the inflight region through a pointer it
 * took at queue start, and rte_vhost unmaps the old region when it handles
 * either message. So a message that arrives while queues run must first stop
 * the session (every request in flight completes, into the old region), the
 * frontend restarts a queue with SET_VRING_KICK, and a region that cannot hold
 * what it declares must be refused before rte_vhost maps it and anyone writes
 * past its end. This client is that frontend. Cases:
 *
 *   bad-set      on a running queue, SET_INFLIGHT_FD with NEED_REPLY and a
 *                region too small for what it declares (mmap_size 64 or one
 *                byte short for 1 queue of 128, enough for 1 of 2 queues,
 *                queue_size 0, 32769 or 65535; the memfd is as large as
 *                mmap_size). Each must be refused (a non-zero ack: -EIO) or
 *                the connection closed; a refused message must leave the
 *                queue running (a block written and read back on the same
 *                connection). One connection per probe.
 *   bad-set-no-queues  the same with num_queues 0 (rte_vhost itself closes
 *                the connection before vhostd sees the message).
 *   get-running  8 writes of known patterns held in flight by a delay bdev,
 *                then GET_INFLIGHT_FD. The daemon may only reply once it has
 *                drained them: all 8 are complete with status OK when the
 *                reply arrives. Then, as QEMU does, SET_INFLIGHT_FD with the
 *                region of the reply and SET_VRING_KICK: the restarted queue
 *                reads the 8 blocks back and writes and reads 8 more. Last, a
 *                fresh connection reads every block written back.
 *   set-running  the same with SET_INFLIGHT_FD carrying a fresh, valid region
 *                (a memfd of the right size; packed: laid out as rte_vhost
 *                lays out its own, at the ring's position).
 *                --no-restart: no SET_VRING_KICK, data checked on the fresh
 *                connection only.
 *   The kick-* cases replace the region in a way rte_vhost handles badly and
 *   then restart the queue(s) with SET_VRING_KICK, as the frontend must; every
 *   queue whose kick is accepted must then serve a burst of writes. A refused
 *   message (-EIO) or a closed connection is fine; the caller checks the
 *   daemon still runs.
 *   kick-get           GET_INFLIGHT_FD while running, no SET_INFLIGHT_FD.
 *   kick-bad-offset    SET_INFLIGHT_FD with a valid size at mmap_offset 1.
 *   kick-short-file    a ring of 1024, SET_INFLIGHT_FD with the right
 *                      mmap_size but a 64-byte memfd; 300 writes in flight
 *                      reach the entries past the file's first page.
 *   kick-fewer-queues  2 queues, SET_INFLIGHT_FD for 1 queue (valid for 1).
 *
 *   inflight-replace SOCK CASE [--packed] [--no-restart] [--wait-ms N]
 * Every wait is bounded by --wait-ms (default 3000): a daemon that hangs
 * fails the case, one that crashes closes the socket and fails it too.
 * Prints a line per step; exit 0 pass, 1 fail, 2 usage, 3 connection failure,
 * 77 the backend does not negotiate INFLIGHT_SHMFD and REPLY_ACK.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/virtio.h"

#define IR_QUEUE_SIZE	128
#define IR_NREQ		8
#define IR_BURST_MAX	300
#define IR_BLOCK	4096u
#define IR_SECTORS	(IR_BLOCK / 512)
/* Long enough after submission for the daemon to take the requests, well
 * inside the delay bdev's latency (the test uses 100 ms). */
#define IR_SETTLE_US	30000

/* Not packed: 24 bytes on the wire, as QEMU and rte_vhost define it. */
struct ir_inflight_msg {
	uint64_t	mmap_size;
	uint64_t	mmap_offset;
	uint16_t	num_queues;
	uint16_t	queue_size;
};

/* A packed queue's part (docs/interop/vhost-user.rst, "Inflight I/O tracking"). */
struct ir_packed_head {
	uint64_t	features;
	uint16_t	version;
	uint16_t	desc_num;
	uint16_t	free_head;
	uint16_t	old_free_head;
	uint16_t	used_idx;
	uint16_t	old_used_idx;
	uint8_t		used_wrap_counter;
	uint8_t		old_used_wrap_counter;
	uint8_t		padding[7];
} __attribute__((packed));

struct ir_packed_desc {
	uint8_t		inflight;
	uint8_t		padding;
	uint16_t	next;
	uint16_t	last;
	uint16_t	num;
	uint64_t	counter;
	uint16_t	id;
	uint16_t	flags;
	uint32_t	len;
	uint64_t	addr;
};

#define IR_PACKED_DESC_OFFSET	32	/* the head's 29 bytes, 8-aligned */

struct ir {
	const char		*sock;
	bool			packed;
	bool			restart;
	uint32_t		wait_ms;
	uint32_t		seed;
	struct virtio_dev	*dev;
	uint8_t			*wbuf[IR_NREQ];
	uint8_t			*rbuf[IR_NREQ];
	uint8_t			*burst_buf;
	int			status[IR_BURST_MAX];
};

static double
ir_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes of one queue's part of an inflight region, 64-aligned (split: 16-byte
 * entries after a 16-byte head; packed: 32-byte entries after 29 bytes). */
static uint64_t
ir_queue_bytes(bool packed, uint32_t queue_size)
{
	uint64_t n = packed ? 32ull * queue_size + 29 : 16ull * queue_size + 16;

	return (n + 63) & ~63ull;
}

static int
ir_memfd(uint64_t size)
{
	int fd = memfd_create("inflight-replace", MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, (off_t)size) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
ir_done(void *cb_arg, const struct virtio_req_result *res)
{
	int *status = cb_arg;

	*status = res->status;
}

static void
ir_fill(struct ir *t, uint8_t *buf, uint64_t sector)
{
	uint32_t j, blk = (uint32_t)(sector / IR_SECTORS);

	for (j = 0; j < IR_BLOCK; j++) {
		buf[j] = (uint8_t)(t->seed + blk * 31 + j * 7 + (j >> 8));
	}
}

static int
ir_open(struct ir *t, uint16_t num_queues, uint16_t queue_size)
{
	struct virtio_dev_opts opts = {
		.socket_path = t->sock,
		.type = VIRTIO_DEV_BLK,
		.num_queues = num_queues,
		.queue_size = queue_size,
		.timeout_ms = t->wait_ms,
		.packed = t->packed,
	};
	uint64_t need = (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
			(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct virtio_mem *mem;
	int i, rc;

	rc = virtio_dev_open(&opts, &t->dev);
	if (rc != 0) {
		fprintf(stderr, "inflight-replace: cannot connect to %s: %s\n", t->sock,
			strerror(-rc));
		return 3;
	}
	if ((virtio_dev_protocol_features(t->dev) & need) != need) {
		printf("the backend does not negotiate INFLIGHT_SHMFD and REPLY_ACK\n");
		return 77;
	}
	mem = virtio_dev_mem(t->dev);
	for (i = 0; i < IR_NREQ; i++) {
		t->wbuf[i] = virtio_mem_alloc(mem, IR_BLOCK, 4096);
		t->rbuf[i] = virtio_mem_alloc(mem, IR_BLOCK, 4096);
		if (t->wbuf[i] == NULL || t->rbuf[i] == NULL) {
			fprintf(stderr, "inflight-replace: out of guest memory\n");
			return 1;
		}
	}
	t->burst_buf = virtio_mem_alloc(mem, IR_BLOCK, 4096);
	if (t->burst_buf == NULL) {
		fprintf(stderr, "inflight-replace: out of guest memory\n");
		return 1;
	}
	return 0;
}

static void
ir_close(struct ir *t)
{
	virtio_dev_destroy(t->dev);
	t->dev = NULL;
}

static struct virtio_vq *
ir_vq(struct ir *t, uint16_t q)
{
	return virtio_dev_vq(t->dev, q);
}

/* Submit n requests of `type` on queue q: bufs[i] (or one shared block when
 * bufs is NULL) at sector + i * 8; then notify. */
static int
ir_submit(struct ir *t, uint16_t q, uint32_t type, uint64_t sector, uint8_t **bufs, int n)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		struct iovec iov = {.iov_base = bufs ? bufs[i] : t->burst_buf, .iov_len = IR_BLOCK};

		t->status[i] = -1;
		rc = virtio_blk_submit(ir_vq(t, q), type, sector + (uint64_t)i * IR_SECTORS, &iov,
				       1, ir_done, &t->status[i]);
		if (rc != 0) {
			fprintf(stderr, "inflight-replace: submit: %s\n", strerror(-rc));
			return rc;
		}
	}
	virtio_vq_notify(ir_vq(t, q));
	return 0;
}

static int
ir_pending(struct ir *t, int n)
{
	int i, pending = 0;

	for (i = 0; i < n; i++) {
		pending += t->status[i] == -1;
	}
	return pending;
}

/* Completed with a status other than OK. */
static int
ir_failed(struct ir *t, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		bad += t->status[i] != -1 && t->status[i] != 0;
	}
	return bad;
}

/* Reap completions on queue q until none of n is pending or wait_ms passed
 * (0: only what is there now). Returns how many are still pending. */
static int
ir_reap(struct ir *t, uint16_t q, int n, uint32_t wait_ms)
{
	double end = ir_now() + wait_ms / 1000.0;
	struct virtio_vq *vq = ir_vq(t, q);

	for (;;) {
		while (virtio_vq_process(vq, IR_BURST_MAX) > 0) {
		}
		if (ir_pending(t, n) == 0 || ir_now() >= end) {
			return ir_pending(t, n);
		}
		if (virtio_vq_wait(vq, (uint32_t)((end - ir_now()) * 1000) + 1) == -ENOTCONN) {
			while (virtio_vq_process(vq, IR_BURST_MAX) > 0) {
			}
			return ir_pending(t, n);
		}
	}
}

/* Submit n requests and wait for all of them; 0 or -1 (reported). */
static int
ir_io(struct ir *t, const char *what, uint16_t q, uint32_t type, uint64_t sector,
      uint8_t **bufs, int n)
{
	int pending;

	if (ir_submit(t, q, type, sector, bufs, n) != 0) {
		return -1;
	}
	pending = ir_reap(t, q, n, t->wait_ms);
	if (pending > 0 || ir_failed(t, n) > 0) {
		fprintf(stderr, "inflight-replace: %s: queue %u: %s of %d: %d pending after %u ms, "
			"%d failed%s\n", what, q, type == VIRTIO_BLK_T_OUT ? "write" : "read", n,
			pending, t->wait_ms, ir_failed(t, n),
			virtio_dev_is_connected(t->dev) ? "" : ", connection closed");
		return -1;
	}
	return 0;
}

/* Write n patterned blocks at sector on queue 0 and wait for them. */
static int
ir_write(struct ir *t, const char *what, uint64_t sector, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ir_fill(t, t->wbuf[i], sector + (uint64_t)i * IR_SECTORS);
	}
	return ir_io(t, what, 0, VIRTIO_BLK_T_OUT, sector, t->wbuf, n);
}

/* Read n blocks at sector on queue 0 and compare with their patterns. */
static int
ir_check(struct ir *t, const char *what, uint64_t sector, int n)
{
	uint8_t expect[IR_BLOCK];
	int i;

	for (i = 0; i < n; i++) {
		memset(t->rbuf[i], 0xee, IR_BLOCK);
	}
	if (ir_io(t, what, 0, VIRTIO_BLK_T_IN, sector, t->rbuf, n) != 0) {
		return -1;
	}
	for (i = 0; i < n; i++) {
		ir_fill(t, expect, sector + (uint64_t)i * IR_SECTORS);
		if (memcmp(expect, t->rbuf[i], IR_BLOCK) != 0) {
			fprintf(stderr, "inflight-replace: %s: block at sector %llu does not hold "
				"its pattern\n", what,
				(unsigned long long)(sector + (uint64_t)i * IR_SECTORS));
			return -1;
		}
	}
	return 0;
}

static int
ir_set_inflight(struct ir *t, uint64_t mmap_size, uint64_t mmap_offset, uint16_t num_queues,
		uint16_t queue_size, int fd)
{
	struct ir_inflight_msg m = {
		.mmap_size = mmap_size,
		.mmap_offset = mmap_offset,
		.num_queues = num_queues,
		.queue_size = queue_size,
	};

	return virtio_dev_msg(t->dev, VHOST_USER_SET_INFLIGHT_FD, &m, sizeof(m), &fd, 1, true,
			      NULL, NULL, NULL);
}

static int
ir_get_inflight(struct ir *t, uint16_t num_queues, uint16_t queue_size,
		struct ir_inflight_msg *m, int *fd)
{
	uint32_t size = sizeof(*m);
	int rc;

	*m = (struct ir_inflight_msg){.num_queues = num_queues, .queue_size = queue_size};
	*fd = -1;
	rc = virtio_dev_msg(t->dev, VHOST_USER_GET_INFLIGHT_FD, m, sizeof(*m), NULL, 0, false, m,
			    &size, fd);
	if (rc == 0 && (size != sizeof(*m) || *fd < 0 ||
			m->mmap_size < num_queues * ir_queue_bytes(t->packed, queue_size))) {
		fprintf(stderr, "inflight-replace: GET_INFLIGHT_FD reply of %u bytes, fd %d, "
			"mmap_size %llu\n", size, *fd, (unsigned long long)m->mmap_size);
		rc = -EPROTO;
	}
	return rc;
}

/* SET_VRING_KICK with the queue's own kick fd: restarts a stopped queue. */
static int
ir_kick(struct ir *t, uint16_t q)
{
	uint64_t qid = q;
	int fd = virtio_vq_kick_fd(ir_vq(t, q));

	return virtio_dev_msg(t->dev, VHOST_USER_SET_VRING_KICK, &qid, sizeof(qid), &fd, 1, true,
			      NULL, NULL, NULL);
}

/* What the daemon did with a message: 0 accepted, -EIO refused, -ENOTCONN closed. */
static int
ir_outcome(struct ir *t, int rc)
{
	if (rc == 0 || (rc == -EIO && virtio_dev_is_connected(t->dev))) {
		return rc;
	}
	if (rc == -EIO || rc == -ENOTCONN || rc == -ECONNRESET || rc == -EPIPE ||
	    !virtio_dev_is_connected(t->dev)) {
		return -ENOTCONN;
	}
	return rc;
}

static const char *
ir_outcome_str(int outcome)
{
	return outcome == 0 ? "accepted" : outcome == -EIO ? "refused" :
	       outcome == -ENOTCONN ? "connection closed" : strerror(-outcome);
}

struct ir_bad_probe {
	const char	*name;
	uint64_t	mmap_size;	/* 0: exactly what queue_size needs */
	uint16_t	num_queues;
	uint16_t	queue_size;
};

/* bad-set, or with no_queues bad-set-no-queues: only num_queues 0. */
static int
ir_case_bad_set(struct ir *t, bool no_queues)
{
	const uint64_t part = ir_queue_bytes(t->packed, IR_QUEUE_SIZE);
	const struct ir_bad_probe probes[] = {
		{"mmap_size 64", 64, 1, IR_QUEUE_SIZE},
		{"mmap_size one byte short", part - 1, 1, IR_QUEUE_SIZE},
		{"mmap_size for 1 of 2 queues", part, 2, IR_QUEUE_SIZE},
		{"queue_size 0", 4096, 1, 0},
		{"queue_size 32769", 0, 1, 32769},
		{"queue_size 65535", 0, 1, 65535},
		{"num_queues 0", part, 0, IR_QUEUE_SIZE},	/* last: no_queues */
	};
	const unsigned int nprobes = sizeof(probes) / sizeof(probes[0]);
	unsigned int i, failed = 0;
	int rc, fd, outcome;

	for (i = no_queues ? nprobes - 1 : 0; i < (no_queues ? nprobes : nprobes - 1); i++) {
		const struct ir_bad_probe *p = &probes[i];
		uint64_t size = p->mmap_size ? p->mmap_size : ir_queue_bytes(t->packed,
									      p->queue_size);
		uint64_t sector = (uint64_t)i * 64 * IR_SECTORS;

		rc = ir_open(t, 1, IR_QUEUE_SIZE);
		if (rc != 0) {
			return rc;
		}
		if (ir_write(t, p->name, sector, 1) != 0 || ir_check(t, p->name, sector, 1) != 0) {
			printf("bad-set %s: no I/O even before the probe\n", p->name);
			return 1;
		}
		fd = ir_memfd(size);
		if (fd < 0) {
			perror("inflight-replace: memfd");
			return 1;
		}
		rc = ir_set_inflight(t, size, 0, p->num_queues, p->queue_size, fd);
		close(fd);
		outcome = ir_outcome(t, rc);
		if (outcome == -EIO) {
			/* Refused before anything changed: the queue still runs. */
			if (ir_write(t, p->name, sector + IR_SECTORS, 1) != 0 ||
			    ir_check(t, p->name, sector, 2) != 0) {
				printf("bad-set %s: refused, but the queue no longer serves\n",
				       p->name);
				failed++;
			} else {
				printf("bad-set %s: refused, the queue still serves\n", p->name);
			}
		} else if (outcome == -ENOTCONN) {
			printf("bad-set %s: connection closed\n", p->name);
		} else {
			printf("bad-set %s: %s (mmap_size %llu, %u queues of %u): FAIL\n", p->name,
			       ir_outcome_str(outcome), (unsigned long long)size, p->num_queues,
			       p->queue_size);
			failed++;
		}
		ir_close(t);
	}
	printf("bad-set: %u probes, %u failed\n", no_queues ? 1 : nprobes - 1, failed);
	return failed == 0 ? 0 : 1;
}

/* A fresh region for one packed queue at the ring's position, laid out as
 * rte_vhost lays out the region it creates for GET_INFLIGHT_FD. */
static void
ir_packed_region_init(void *region, uint16_t queue_size, uint16_t used_idx, bool wrap)
{
	struct ir_packed_head *h = region;
	struct ir_packed_desc *d = (struct ir_packed_desc *)((uint8_t *)region +
							      IR_PACKED_DESC_OFFSET);
	uint16_t j;

	h->used_idx = h->old_used_idx = used_idx;
	h->used_wrap_counter = h->old_used_wrap_counter = wrap;
	for (j = 0; j < queue_size; j++) {
		d[j].next = (uint16_t)(j + 1);
	}
}

/* GET_INFLIGHT_FD (get) or SET_INFLIGHT_FD with a fresh region (!get) under I/O. */
static int
ir_case_running(struct ir *t, bool get)
{
	const char *name = get ? "get-running" : "set-running";
	const uint64_t part = ir_queue_bytes(t->packed, IR_QUEUE_SIZE);
	const uint64_t sector = (get ? 1024 : 2048) * (uint64_t)IR_SECTORS;
	struct ir_inflight_msg m;
	int rc, i, early, drained, late, lost, written = IR_NREQ, fd = -1;
	double t0, msg_ms;
	void *region;

	rc = ir_open(t, 1, IR_QUEUE_SIZE);
	if (rc != 0) {
		return rc;
	}
	for (i = 0; i < IR_NREQ; i++) {
		ir_fill(t, t->wbuf[i], sector + (uint64_t)i * IR_SECTORS);
	}
	if (ir_submit(t, 0, VIRTIO_BLK_T_OUT, sector, t->wbuf, IR_NREQ) != 0) {
		return 1;
	}
	usleep(IR_SETTLE_US);
	early = IR_NREQ - ir_reap(t, 0, IR_NREQ, 0);
	t0 = ir_now();
	if (get) {
		rc = ir_get_inflight(t, 1, IR_QUEUE_SIZE, &m, &fd);
	} else {
		fd = ir_memfd(part);
		if (fd < 0) {
			perror("inflight-replace: memfd");
			return 1;
		}
		if (t->packed) {
			/* Drained, the ring is at IR_NREQ chains of 3 slots, wrap 1. */
			region = mmap(NULL, part, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (region == MAP_FAILED) {
				perror("inflight-replace: mmap");
				return 1;
			}
			ir_packed_region_init(region, IR_QUEUE_SIZE, IR_NREQ * 3, true);
			munmap(region, part);
		}
		m = (struct ir_inflight_msg){.mmap_size = part, .num_queues = 1,
					     .queue_size = IR_QUEUE_SIZE};
		rc = ir_set_inflight(t, m.mmap_size, 0, 1, IR_QUEUE_SIZE, fd);
	}
	msg_ms = (ir_now() - t0) * 1000;
	if (rc != 0) {
		printf("%s: the message failed: %s\n", name, strerror(-rc));
		return 1;
	}
	/* The daemon replies only once it has drained: those are in the used ring. */
	drained = IR_NREQ - early - ir_reap(t, 0, IR_NREQ, 0);
	if (t->restart) {
		if (get) {
			/* QEMU's order: the region GET returned goes back with SET. */
			rc = ir_set_inflight(t, m.mmap_size, m.mmap_offset, m.num_queues,
					     m.queue_size, fd);
			if (rc != 0) {
				printf("%s: SET_INFLIGHT_FD with the region GET returned: %s\n",
				       name, strerror(-rc));
				return 1;
			}
		}
		rc = ir_kick(t, 0);
		if (rc != 0) {
			printf("%s: SET_VRING_KICK to restart the queue: %s\n", name,
			       strerror(-rc));
			return 1;
		}
	}
	close(fd);
	/* Requests the daemon had not taken yet run after the restart. */
	late = IR_NREQ - early - drained - ir_reap(t, 0, IR_NREQ, t->restart ? t->wait_ms : 0);
	lost = IR_NREQ - early - drained - late;
	printf("%s: completed before the message %d, drained by it %d, after the restart %d, "
	       "lost %d, failed %d (reply in %.0f ms)\n", name, early, drained, late, lost,
	       ir_failed(t, IR_NREQ), msg_ms);
	if (lost > 0 || ir_failed(t, IR_NREQ) > 0) {
		return 1;
	}
	if (drained == 0) {
		printf("%s: no request was in flight at the message: nothing proved\n", name);
		return 1;
	}
	if (t->restart) {
		/* The writes hold, and the restarted queue serves new ones. */
		if (ir_check(t, name, sector, IR_NREQ) != 0 ||
		    ir_write(t, name, sector + IR_NREQ * IR_SECTORS, IR_NREQ) != 0 ||
		    ir_check(t, name, sector + IR_NREQ * IR_SECTORS, IR_NREQ) != 0) {
			printf("%s: the restarted queue does not serve (or lost data)\n", name);
			return 1;
		}
		written += IR_NREQ;
		printf("%s: the restarted queue read the 8 blocks back and wrote 8 more\n", name);
	}
	ir_close(t);
	/* What reached the disk, seen from a new connection. */
	rc = ir_open(t, 1, IR_QUEUE_SIZE);
	if (rc != 0) {
		return rc;
	}
	if (ir_check(t, name, sector, IR_NREQ) != 0 ||
	    (written > IR_NREQ && ir_check(t, name, sector + IR_NREQ * IR_SECTORS, IR_NREQ) != 0)) {
		printf("%s: a new connection does not read back what was written\n", name);
		return 1;
	}
	printf("%s: a new connection read the %d blocks back\n", name, written);
	ir_close(t);
	return 0;
}

/* Restart every queue with SET_VRING_KICK; each accepted must serve `burst` writes. */
static int
ir_kick_all(struct ir *t, const char *name, uint16_t nq, int burst)
{
	int rc, outcome, failed = 0;
	uint16_t q;

	for (q = 0; q < nq; q++) {
		outcome = ir_outcome(t, ir_kick(t, q));
		printf("%s: SET_VRING_KICK queue %u: %s\n", name, q, ir_outcome_str(outcome));
		if (outcome == -ENOTCONN) {
			return 0;
		}
		if (outcome != 0) {
			continue;
		}
		rc = ir_io(t, name, q, VIRTIO_BLK_T_OUT, 0, NULL, burst);
		printf("%s: queue %u: %d writes after the restart: %s\n", name, q, burst,
		       rc == 0 ? "ok" : "FAIL");
		failed += rc != 0;
	}
	return failed == 0 ? 0 : 1;
}

static int
ir_case_kick(struct ir *t, const char *name)
{
	uint16_t nq = 1, qs = IR_QUEUE_SIZE;
	struct ir_inflight_msg m;
	int rc, outcome, fd, burst = IR_NREQ;
	uint16_t q;
	uint64_t part;

	if (strcmp(name, "kick-short-file") == 0) {
		qs = 1024;
		burst = IR_BURST_MAX;
	} else if (strcmp(name, "kick-fewer-queues") == 0) {
		nq = 2;
	}
	part = ir_queue_bytes(t->packed, qs);
	rc = ir_open(t, nq, qs);
	if (rc != 0) {
		return rc;
	}
	for (q = 0; q < nq; q++) {
		if (ir_io(t, name, q, VIRTIO_BLK_T_OUT, 0, NULL, burst) != 0) {
			printf("%s: queue %u: no I/O even before the probe\n", name, q);
			return 1;
		}
	}
	if (strcmp(name, "kick-get") == 0) {
		rc = ir_get_inflight(t, nq, qs, &m, &fd);
		if (fd >= 0) {
			close(fd);
		}
		outcome = ir_outcome(t, rc);
		printf("%s: GET_INFLIGHT_FD while running: %s\n", name, ir_outcome_str(outcome));
	} else {
		if (strcmp(name, "kick-bad-offset") == 0) {
			fd = ir_memfd(2 * part + 4096);
			rc = ir_set_inflight(t, part, 1, 1, qs, fd);
		} else if (strcmp(name, "kick-short-file") == 0) {
			fd = ir_memfd(64);
			rc = ir_set_inflight(t, part, 0, 1, qs, fd);
		} else if (strcmp(name, "kick-fewer-queues") == 0) {
			fd = ir_memfd(part);
			if (fd >= 0 && t->packed) {
				/* vhostd restarts a packed ring where the region says: queue
				 * 0 is at `burst` chains of 3 slots, wrap 1. */
				void *region = mmap(NULL, part, PROT_READ | PROT_WRITE, MAP_SHARED,
						    fd, 0);

				if (region == MAP_FAILED) {
					perror("inflight-replace: mmap");
					return 1;
				}
				ir_packed_region_init(region, qs, (uint16_t)(burst * 3), true);
				munmap(region, part);
			}
			rc = ir_set_inflight(t, part, 0, 1, qs, fd);
		} else {
			fprintf(stderr, "inflight-replace: unknown case %s\n", name);
			return 2;
		}
		if (fd >= 0) {
			close(fd);
		}
		outcome = ir_outcome(t, rc);
		printf("%s: SET_INFLIGHT_FD while running: %s\n", name, ir_outcome_str(outcome));
	}
	if (outcome == -ENOTCONN) {
		return 0;
	}
	if (outcome != 0 && outcome != -EIO) {
		return 1;
	}
	rc = ir_kick_all(t, name, nq, burst);
	ir_close(t);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ir t = {.wait_ms = 3000, .restart = true};
	const char *cs;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: inflight-replace SOCK CASE [--packed] [--no-restart] "
			"[--wait-ms N]\n  CASE: bad-set bad-set-no-queues get-running "
			"set-running kick-get kick-bad-offset kick-short-file kick-fewer-queues\n");
		return 2;
	}
	t.sock = argv[1];
	cs = argv[2];
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--packed") == 0) {
			t.packed = true;
		} else if (strcmp(argv[i], "--no-restart") == 0) {
			t.restart = false;
		} else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc) {
			t.wait_ms = (uint32_t)atoi(argv[++i]);
		} else {
			fprintf(stderr, "inflight-replace: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	t.seed = (uint32_t)getpid() * 2654435761u;
	if (strcmp(cs, "bad-set") == 0) {
		return ir_case_bad_set(&t, false);
	} else if (strcmp(cs, "bad-set-no-queues") == 0) {
		return ir_case_bad_set(&t, true);
	} else if (strcmp(cs, "get-running") == 0) {
		return ir_case_running(&t, true);
	} else if (strcmp(cs, "set-running") == 0) {
		return ir_case_running(&t, false);
	} else if (strncmp(cs, "kick-", 5) == 0) {
		return ir_case_kick(&t, cs);
	}
	fprintf(stderr, "inflight-replace: unknown case %s\n", cs);
	return 2;
}

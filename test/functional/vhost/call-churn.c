/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * call-churn: does vhostd lose a guest interrupt when the call eventfd is
 * replaced under I/O?
 *
 * QEMU sends SET_VRING_CALL whenever the guest masks or unmasks a queue's
 * MSI-X vector (it swaps its masked notifier and the guest notifier) and does
 * not wait for the backend: it checks the old notifier for a pending call
 * right after sending. A backend that keeps signalling the fd number rte_vhost
 * has already closed loses the call; with EVENT_IDX the guest then waits for
 * ever (the used_event it asked for has been passed). This client does what
 * QEMU does, one request at a time: submit a read, send SET_VRING_CALL with a
 * fresh eventfd (no reply awaited), check the old fd once, then wait on the
 * new one. A completion that is in the used ring but was signalled on neither
 * fd within the timeout is a lost call.
 *
 *   call-churn SOCK SECONDS [--packed] [--no-event-idx]
 * Prints "iterations N lost L timeouts T" and exits 0 only if L = T = 0
 * (2 usage, 3 connection failure).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/virtio.h"

#define CHURN_SET_VRING_CALL	13	/* vhost-user request code */
#define CHURN_WAIT_MS		3000

static void
churn_done(void *cb_arg, const struct virtio_req_result *res)
{
	int *status = cb_arg;

	*status = res->status;
}

/* true if fd had a pending call (and clears it). */
static bool
churn_drain(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0 && v > 0;
}

static bool
churn_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, timeout_ms) == 1 && churn_drain(fd);
}

static double
churn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct virtio_dev_opts opts = {
		.type = VIRTIO_DEV_BLK,
		.num_queues = 1,
		.queue_size = 128,
		.timeout_ms = 5000,
	};
	struct virtio_dev *dev;
	struct virtio_vq *vq;
	uint64_t iterations = 0, lost = 0, timeouts = 0;
	double end;
	void *buf;
	int callfd, i, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: call-churn SOCK SECONDS [--packed] [--no-event-idx]\n");
		return 2;
	}
	opts.socket_path = argv[1];
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--packed") == 0) {
			opts.packed = true;
		} else if (strcmp(argv[i], "--no-event-idx") == 0) {
			opts.features_refuse |= 1ull << 29;	/* VIRTIO_RING_F_EVENT_IDX */
		} else {
			fprintf(stderr, "call-churn: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	rc = virtio_dev_open(&opts, &dev);
	if (rc != 0) {
		fprintf(stderr, "call-churn: cannot connect to %s: %s\n", argv[1], strerror(-rc));
		return 3;
	}
	vq = virtio_dev_vq(dev, 0);
	buf = virtio_mem_alloc(virtio_dev_mem(dev), 4096, 4096);
	callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (buf == NULL || callfd < 0) {
		fprintf(stderr, "call-churn: out of memory or fds\n");
		return 1;
	}
	srand((unsigned int)getpid());
	end = churn_now() + atof(argv[2]);
	while (churn_now() < end) {
		struct iovec iov = {.iov_base = buf, .iov_len = 4096};
		uint64_t qid = 0;
		int status = -1, newfd;
		bool called;

		virtio_vq_enable_interrupts(vq);
		rc = virtio_blk_submit(vq, 0 /* VIRTIO_BLK_T_IN */, (uint64_t)(rand() % 64) * 8,
				       &iov, 1, churn_done, &status);
		if (rc != 0) {
			fprintf(stderr, "call-churn: submit: %s\n", strerror(-rc));
			return 1;
		}
		virtio_vq_notify(vq);
		/* Vary the moment of the swap against the request's completion. */
		if (rand() % 2) {
			usleep((useconds_t)(rand() % 50));
		}
		newfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (newfd < 0) {
			return 1;
		}
		rc = virtio_dev_msg(dev, CHURN_SET_VRING_CALL, &qid, sizeof(qid), &newfd, 1, false,
				    NULL, NULL, NULL);
		if (rc != 0) {
			fprintf(stderr, "call-churn: SET_VRING_CALL: %s\n", strerror(-rc));
			return 1;
		}
		called = churn_drain(callfd);
		close(callfd);
		callfd = newfd;
		if (!called) {
			called = churn_wait(callfd, CHURN_WAIT_MS);
		}
		/* Spurious calls are allowed: start every iteration clean. */
		churn_drain(callfd);
		if (!called) {
			if (virtio_vq_has_used(vq)) {
				lost++;
			} else {
				timeouts++;
			}
		}
		for (i = 0; status == -1; i++) {
			if (virtio_vq_process(vq, 1) == 0 && !virtio_vq_has_used(vq)) {
				if (!virtio_dev_is_connected(dev) || i > 50000) {
					fprintf(stderr, "call-churn: the read never completed\n");
					return 1;
				}
				usleep(100);
			}
		}
		if (status != 0) {
			fprintf(stderr, "call-churn: read failed with status %d\n", status);
			return 1;
		}
		iterations++;
	}
	printf("iterations %llu lost %llu timeouts %llu\n", (unsigned long long)iterations,
	       (unsigned long long)lost, (unsigned long long)timeouts);
	close(callfd);
	virtio_dev_destroy(dev);
	return lost == 0 && timeouts == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user message layer and device life cycle of lib/virtio against a
 * scripted fake backend on a real Unix socket (a thread of this test):
 * negotiation, the start sequence and its fds, REPLY_ACK, GET_CONFIG, stop,
 * and every way a backend can misbehave: close, silence, oversize or
 * mismatched replies, nacks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhostd/util.h"
#include "virtio_internal.h"

enum fake_mode {
	FB_GOOD,
	FB_CLOSE_AFTER_FEATURES,
	FB_SILENT,
	FB_OVERSIZE,
	FB_WRONG_REPLY,
	FB_NACK_MEM_TABLE,
	FB_NO_VERSION_1,
	FB_CLOSE_AFTER_START,
	FB_CLOSE_AFTER_DRIVER_OK,	/* as FB_GOOD, then "crashes" once the device is live */
};

struct fake_backend {
	enum fake_mode	mode;
	char		path[108];
	int		lfd;
	pthread_t	th;
	/* what it saw */
	uint32_t	reqs[256];
	uint32_t	nreqs;
	int		mem_fds;
	uint32_t	mem_nregions;
	int		kick_fds;
	int		call_fds;
	uint32_t	enabled;
	uint64_t	features_set;
	uint64_t	protocol_set;
	bool		ack_flags_seen;
	uint32_t	inflight_get_size;
	int		inflight_set_fds;
	uint64_t	status;
	uint32_t	vring_base[4];
	uint32_t	inflight_gets;
};

struct msg {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;
	uint8_t		payload[4096];
} __attribute__((packed));

static int
fb_recv(int fd, struct msg *m, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = {m, 12};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	n = recvmsg(fd, &mh, 0);
	if (n != 12) {
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int i, cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)), f;

		for (i = 0; i < cnt; i++) {
			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(f);
		}
		*nfds += cnt;
	}
	if (m->size > sizeof(m->payload)) {
		return -1;
	}
	if (m->size && recv(fd, m->payload, m->size, MSG_WAITALL) != (ssize_t)m->size) {
		return -1;
	}
	return 0;
}

static void
fb_reply(int fd, uint32_t req, const void *p, uint32_t size)
{
	struct msg m = {.request = req, .flags = 0x1 | VHOST_USER_FLAG_REPLY, .size = size};
	ssize_t n;

	memcpy(m.payload, p, size);
	n = send(fd, &m, 12 + size, MSG_NOSIGNAL);
	(void)n;
}

static void
fb_reply_fd(int fd, uint32_t req, const void *p, uint32_t size, int sendfd)
{
	struct msg m = {.request = req, .flags = 0x1 | VHOST_USER_FLAG_REPLY, .size = size};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&m, 12 + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memcpy(m.payload, p, size);
	memset(cbuf, 0, sizeof(cbuf));	/* the padding too (valgrind: uninitialised bytes) */
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sendfd, sizeof(int));
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	(void)n;
}

static void
fb_reply_u64(int fd, uint32_t req, uint64_t v)
{
	fb_reply(fd, req, &v, sizeof(v));
}

static void *
fb_main(void *arg)
{
	struct fake_backend *fb = arg;
	struct msg m;
	int fd, nfds;

	fd = accept(fb->lfd, NULL, NULL);
	if (fd < 0) {
		return NULL;
	}
	while (fb_recv(fd, &m, &nfds) == 0) {
		bool acked = false;

		if (fb->nreqs < 256) {
			fb->reqs[fb->nreqs++] = m.request;
		}
		if (m.flags & VHOST_USER_FLAG_NEED_REPLY) {
			fb->ack_flags_seen = true;
		}
		if (fb->mode == FB_SILENT) {
			continue;
		}
		switch (m.request) {
		case VHOST_USER_GET_FEATURES:
			if (fb->mode == FB_OVERSIZE) {
				struct msg bad = {.request = m.request, .flags = 0x5, .size = 100000};
				ssize_t n = send(fd, &bad, 12, MSG_NOSIGNAL);

				(void)n;
				break;
			}
			if (fb->mode == FB_WRONG_REPLY) {
				fb_reply_u64(fd, VHOST_USER_GET_PROTOCOL_FEATURES, 0);
				break;
			}
			fb_reply_u64(fd, m.request,
				     (fb->mode == FB_NO_VERSION_1 ? 0 : 1ull << VIRTIO_F_VERSION_1) |
				     (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
				     (1ull << VIRTIO_RING_F_EVENT_IDX) |
				     (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << 40) /* unknown */);
			if (fb->mode == FB_CLOSE_AFTER_FEATURES) {
				goto out;
			}
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			fb_reply_u64(fd, m.request,
				     (1ull << VHOST_USER_PROTOCOL_F_MQ) |
				     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
				     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << 5) |
				     (fb->mode == FB_GOOD || fb->mode == FB_CLOSE_AFTER_DRIVER_OK ?
				      (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
				      (1ull << VHOST_USER_PROTOCOL_F_STATUS) : 0));
			break;
		case VHOST_USER_SET_PROTOCOL_FEATURES:
			memcpy(&fb->protocol_set, m.payload, 8);
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			fb_reply_u64(fd, m.request, 2);
			break;
		case VHOST_USER_SET_FEATURES:
			memcpy(&fb->features_set, m.payload, 8);
			break;
		case VHOST_USER_SET_MEM_TABLE:
			fb->mem_fds = nfds;
			memcpy(&fb->mem_nregions, m.payload, 4);
			if (fb->mode == FB_NACK_MEM_TABLE && (m.flags & VHOST_USER_FLAG_NEED_REPLY)) {
				fb_reply_u64(fd, m.request, 1);
				acked = true;
			}
			break;
		case VHOST_USER_SET_VRING_KICK:
			fb->kick_fds += nfds;
			break;
		case VHOST_USER_SET_VRING_CALL:
			fb->call_fds += nfds;
			break;
		case VHOST_USER_SET_VRING_ENABLE:
			fb->enabled++;
			if (fb->mode == FB_CLOSE_AFTER_START && fb->enabled == 1) {
				fb_reply_u64(fd, m.request, 0);
				usleep(100 * 1000);
				goto out;
			}
			break;
		case VHOST_USER_GET_CONFIG: {
			uint8_t cfg[12 + 256];

			memcpy(cfg, m.payload, 12 + 60);
			memset(cfg + 12, 0x5a, 60);
			fb_reply(fd, m.request, cfg, m.size);
			break;
		}
		case VHOST_USER_GET_INFLIGHT_FD: {
			uint64_t inf[3] = {0};
			int mfd = memfd_create("fb-inflight", 0);

			fb->inflight_get_size = m.size;
			fb->inflight_gets++;
			memcpy(inf, m.payload, sizeof(inf));
			inf[0] = 8192;
			inf[1] = 0;
			assert_int_equal(ftruncate(mfd, 8192), 0);
			fb_reply_fd(fd, m.request, inf, sizeof(inf), mfd);
			close(mfd);
			break;
		}
		case VHOST_USER_SET_INFLIGHT_FD:
			fb->inflight_set_fds += nfds;
			break;
		case VHOST_USER_SET_STATUS:
			memcpy(&fb->status, m.payload, 8);
			if (fb->mode == FB_CLOSE_AFTER_DRIVER_OK && (fb->status & 0x4)) {
				fb_reply_u64(fd, m.request, 0);
				goto out;
			}
			break;
		case VHOST_USER_SET_VRING_BASE: {
			uint32_t st[2];

			memcpy(st, m.payload, sizeof(st));
			if (st[0] < 4) {
				fb->vring_base[st[0]] = st[1];
			}
			break;
		}
		case VHOST_USER_GET_STATUS:
			fb_reply_u64(fd, m.request, fb->status | VIRTIO_DEV_STATUS_NEEDS_RESET);
			break;
		case VHOST_USER_GET_VRING_BASE:
			fb_reply(fd, m.request, m.payload, 8);
			break;
		default:
			break;
		}
		if (!acked && (m.flags & VHOST_USER_FLAG_NEED_REPLY)) {
			fb_reply_u64(fd, m.request, 0);
		}
	}
out:
	close(fd);
	return NULL;
}

static void
fb_start(struct fake_backend *fb, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(fb, 0, sizeof(*fb));
	fb->mode = mode;
	snprintf(fb->path, sizeof(fb->path), "/tmp/vhost_user_ut.%d.sock", getpid());
	unlink(fb->path);
	fb->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fb->lfd >= 0);
	memcpy(sa.sun_path, fb->path, strlen(fb->path));
	assert_int_equal(bind(fb->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fb->lfd, 1), 0);
	assert_int_equal(pthread_create(&fb->th, NULL, fb_main, fb), 0);
}

static void
fb_stop(struct fake_backend *fb)
{
	pthread_join(fb->th, NULL);
	close(fb->lfd);
	unlink(fb->path);
}

static struct virtio_dev_opts
opts_for(struct fake_backend *fb)
{
	struct virtio_dev_opts o = {.socket_path = fb->path, .timeout_ms = 300, .mem_size = 4 << 20};

	return o;
}

static void
test_connect_start_stop(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;
	uint8_t cfg[60];
	uint32_t i;

	fb_start(&fb, FB_GOOD);
	o = opts_for(&fb);
	o.num_queues = 2;
	o.nregions = 3;
	o.regions[0] = (struct virtio_mem_region_spec){0, 2 << 20};
	o.regions[1] = (struct virtio_mem_region_spec){1ull << 32, 1 << 20};
	o.regions[2] = (struct virtio_mem_region_spec){3ull << 32, 1 << 20};
	assert_int_equal(virtio_dev_connect(&o, &dev), 0);
	/* unknown bit 40 and unimplemented protocol bit 5 are not accepted */
	assert_false(virtio_dev_features(dev) & (1ull << 40));
	assert_true(virtio_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(virtio_dev_offered_features(dev) >> 40 & 1, 1);
	assert_int_equal(virtio_dev_protocol_features(dev),
			 (1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
			 (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
			 (1ull << VHOST_USER_PROTOCOL_F_STATUS));
	assert_int_equal(virtio_dev_max_queues(dev), 2);
	assert_int_equal(virtio_dev_num_queues(dev), 0);
	assert_null(virtio_dev_vq(dev, 0));
	assert_int_equal(virtio_dev_get_config(dev, cfg, 0, sizeof(cfg)), 0);
	for (i = 0; i < sizeof(cfg); i++) {
		assert_int_equal(cfg[i], 0x5a);
	}
	assert_int_equal(virtio_dev_get_config(dev, cfg, 0, 300), -EINVAL);
	assert_int_equal(virtio_dev_start(dev), 0);
	assert_int_equal(virtio_dev_get_status(dev, cfg), 0);
	assert_int_equal(cfg[0], 0x0f | VIRTIO_DEV_STATUS_NEEDS_RESET);	/* DRIVER_OK was set */
	assert_int_equal(virtio_dev_start(dev), -EALREADY);
	assert_int_equal(virtio_dev_num_queues(dev), 2);
	assert_non_null(virtio_dev_vq(dev, 1));
	assert_null(virtio_dev_vq(dev, 2));
	assert_int_equal(virtio_mem_region_count(virtio_dev_mem(dev)), 3);
	assert_true(virtio_dev_is_connected(dev));
	assert_int_equal(virtio_dev_stop(dev), 0);
	assert_int_equal(virtio_dev_stop(dev), 0);	/* idempotent */
	virtio_dev_destroy(dev);
	fb_stop(&fb);

	assert_int_equal(fb.reqs[0], VHOST_USER_GET_FEATURES);
	assert_int_equal(fb.reqs[1], VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(fb.reqs[2], VHOST_USER_SET_PROTOCOL_FEATURES);
	assert_int_equal(fb.reqs[3], VHOST_USER_GET_QUEUE_NUM);
	assert_int_equal(fb.reqs[4], VHOST_USER_SET_OWNER);
	assert_int_equal(fb.mem_fds, 3);
	assert_int_equal(fb.mem_nregions, 3);
	assert_int_equal(fb.kick_fds, 2);
	assert_int_equal(fb.call_fds, 2);
	assert_int_equal(fb.enabled, 4);	/* enable x2, disable x2 */
	assert_true(fb.ack_flags_seen);
	assert_true(fb.features_set & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_false(fb.features_set & (1ull << 40));
	assert_int_equal(fb.reqs[fb.nreqs - 1], VHOST_USER_GET_VRING_BASE);
	assert_int_equal(fb.inflight_get_size, 24);	/* QEMU's/DPDK's unpacked layout */
	assert_int_equal(fb.inflight_set_fds, 1);
}

/*
 * The backend goes away once the device is live and a new one appears on the
 * same path: reconnect renegotiates and restarts on the same memory and rings,
 * re-sends the kept inflight region (no GET_INFLIGHT_FD) and, for a split
 * ring, the used index the device had reached as the ring base; then kicks.
 */
static void
test_reconnect(void **state)
{
	struct fake_backend fb, fb2;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;
	struct virtio_vq *vq;
	uint64_t cnt = 0, t0;
	void *d, *a, *u;
	int i;

	fb_start(&fb, FB_CLOSE_AFTER_DRIVER_OK);
	o = opts_for(&fb);
	o.num_queues = 2;
	o.reconnect = true;
	/* not started yet: nothing to reconnect */
	assert_int_equal(virtio_dev_connect(&o, &dev), 0);
	assert_int_equal(virtio_dev_reconnect(dev, 100), -ENODEV);
	assert_int_equal(virtio_dev_start(dev), 0);
	fb_stop(&fb);
	assert_int_equal(fb.inflight_gets, 1);
	assert_int_equal(fb.inflight_set_fds, 1);
	assert_int_equal(fb.vring_base[0], 0);
	for (i = 0; i < 100 && virtio_dev_is_connected(dev); i++) {
		usleep(10000);
	}
	assert_false(virtio_dev_is_connected(dev));
	vq = virtio_dev_vq(dev, 0);
	/* with `reconnect` a waiting queue thread sees a timeout, never -ENOTCONN */
	assert_int_equal(virtio_vq_wait(vq, 30), -ETIMEDOUT);

	/* no backend for 200 ms: the reconnect gives up with the last error */
	t0 = util_now_us();
	assert_int_equal(virtio_dev_reconnect(dev, 200), -ENOENT);
	assert_true(util_now_us() - t0 >= 190000);
	assert_int_equal(virtio_dev_reconnects(dev), 0);

	/* the old backend had completed 5 requests on queue 0 */
	virtio_vq_rings(vq, &d, &a, &u);
	((struct vring_used *)u)->idx = 5;
	fb_start(&fb2, FB_GOOD);
	assert_int_equal(virtio_dev_reconnect(dev, 2000), 0);
	assert_true(virtio_dev_is_connected(dev));
	assert_int_equal(virtio_dev_reconnects(dev), 1);
	assert_int_equal(virtio_dev_num_queues(dev), 2);
	/* each vring was kicked after the restart */
	assert_int_equal(read(virtio_vq_kick_fd(vq), &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	assert_true(cnt >= 1);
	virtio_dev_destroy(dev);
	fb_stop(&fb2);
	assert_int_equal(fb2.reqs[0], VHOST_USER_GET_FEATURES);
	assert_int_equal(fb2.inflight_gets, 0);
	assert_int_equal(fb2.inflight_set_fds, 1);
	assert_int_equal(fb2.mem_fds, 1);
	assert_int_equal(fb2.kick_fds, 2);
	assert_int_equal(fb2.call_fds, 2);
	assert_int_equal(fb2.vring_base[0], 5);
	assert_int_equal(fb2.vring_base[1], 0);
	assert_true(fb2.status & 0x4);
}

static void
test_too_many_queues(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_GOOD);
	o = opts_for(&fb);
	o.num_queues = 3;
	assert_int_equal(virtio_dev_open(&o, &dev), -EINVAL);
	assert_null(dev);
	fb_stop(&fb);
}

static void
test_packed_not_offered(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_NACK_MEM_TABLE);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), 0);
	assert_int_equal(virtio_dev_get_status(dev, (uint8_t *)&o), -ENOTSUP);
	virtio_dev_destroy(dev);
	fb_stop(&fb);
	fb_start(&fb, FB_GOOD);
	o = opts_for(&fb);
	o.packed = true;
	assert_int_equal(virtio_dev_connect(&o, &dev), -ENOTSUP);
	fb_stop(&fb);
}

static void
test_no_version_1(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_NO_VERSION_1);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), -ENOTSUP);
	fb_stop(&fb);
}

static void
test_peer_closes_during_negotiation(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_CLOSE_AFTER_FEATURES);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), -ENOTCONN);
	fb_stop(&fb);
}

static void
test_peer_silent_times_out(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;
	uint64_t t0 = util_now_us();

	fb_start(&fb, FB_SILENT);
	o = opts_for(&fb);
	o.timeout_ms = 200;
	assert_int_equal(virtio_dev_connect(&o, &dev), -ETIMEDOUT);
	assert_true(util_now_us() - t0 >= 190000);
	assert_true(util_now_us() - t0 < 2000000);
	fb_stop(&fb);
}

static void
test_bad_replies(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_OVERSIZE);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), -EPROTO);
	fb_stop(&fb);
	fb_start(&fb, FB_WRONG_REPLY);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), -EPROTO);
	fb_stop(&fb);
}

static void
test_nack_fails_start(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_NACK_MEM_TABLE);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_open(&o, &dev), -EIO);
	fb_stop(&fb);
}

static void
test_no_listener(void **state)
{
	struct virtio_dev_opts o = {.socket_path = "/tmp/vhost_user_ut.nonexistent.sock"};
	struct virtio_dev *dev = NULL;
	char longpath[200];

	assert_int_equal(virtio_dev_connect(&o, &dev), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	o.socket_path = longpath;
	assert_int_equal(virtio_dev_connect(&o, &dev), -EINVAL);
	assert_int_equal(virtio_dev_connect(NULL, &dev), -EINVAL);
	virtio_dev_destroy(NULL);
}

static void
test_peer_gone_while_waiting(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;
	struct virtio_vq *vq;
	struct iovec iov;
	uint64_t t0;

	fb_start(&fb, FB_CLOSE_AFTER_START);
	o = opts_for(&fb);
	o.timeout_ms = 2000;
	assert_int_equal(virtio_dev_open(&o, &dev), 0);
	vq = virtio_dev_vq(dev, 0);
	iov.iov_base = virtio_mem_alloc(virtio_dev_mem(dev), 512, 512);
	iov.iov_len = 512;
	assert_int_equal(virtio_blk_submit(vq, VIRTIO_BLK_T_IN, 0, &iov, 1, NULL, NULL), 0);
	virtio_vq_notify(vq);
	t0 = util_now_us();
	assert_int_equal(virtio_vq_wait(vq, 2000), -ENOTCONN);
	assert_true(util_now_us() - t0 < 1500000);
	assert_false(virtio_dev_is_connected(dev));
	/* control messages now fail fast, stop does not hang */
	assert_int_equal(virtio_dev_get_config(dev, &t0, 0, 8), -ENOTCONN);
	assert_int_equal(virtio_dev_stop(dev), -ENOTCONN);
	virtio_dev_destroy(dev);
	fb_stop(&fb);
}

static void
test_wait_times_out(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;

	fb_start(&fb, FB_GOOD);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_open(&o, &dev), 0);
	assert_int_equal(virtio_vq_wait(virtio_dev_vq(dev, 0), 50), -ETIMEDOUT);
	assert_int_equal(virtio_vq_process(virtio_dev_vq(dev, 0), 10), 0);
	virtio_dev_destroy(dev);
	fb_stop(&fb);
}

static void
test_raw_msg(void **state)
{
	struct fake_backend fb;
	struct virtio_dev_opts o;
	struct virtio_dev *dev = NULL;
	uint8_t big[VHOST_USER_PAYLOAD_MAX + 1];
	uint64_t v = 0;
	uint32_t size = sizeof(v);
	int fds[9] = {0};

	fb_start(&fb, FB_GOOD);
	o = opts_for(&fb);
	assert_int_equal(virtio_dev_connect(&o, &dev), 0);
	assert_int_equal(virtio_dev_msg(dev, 99, big, sizeof(big), NULL, 0, false, NULL, NULL,
					NULL), -EINVAL);
	assert_int_equal(virtio_dev_msg(dev, 99, NULL, 0, fds, 9, false, NULL, NULL, NULL),
			 -EINVAL);
	/* an unknown request with NEED_REPLY is acked by this backend */
	assert_int_equal(virtio_dev_msg(dev, 99, NULL, 0, NULL, 0, true, NULL, NULL, NULL), 0);
	assert_int_equal(virtio_dev_msg(dev, VHOST_USER_GET_QUEUE_NUM, NULL, 0, NULL, 0, false, &v,
					&size, NULL), 0);
	assert_int_equal(v, 2);
	virtio_dev_destroy(dev);
	fb_stop(&fb);
}

static int g_done;

static void
echo_cb(void *arg, const struct virtio_req_result *res)
{
	assert_int_equal(res->status, 0);
	assert_int_equal(res->used_len, 1);
	if (res->scsi) {
		assert_int_equal(res->scsi->status, 0);
	}
	g_done++;
}

static void
loopback_echo(bool packed, enum virtio_dev_type type)
{
	struct virtio_dev_opts o = {.packed = packed, .type = type, .queue_size = 16,
				    .num_queues = type == VIRTIO_DEV_SCSI ? 3 : 2};
	struct virtio_dev *dev = NULL;
	struct virtio_vq *vq;
	struct iovec iov[5];
	uint8_t cfg[60], cdb[16] = {0x88};
	int i, round, rc;

	assert_int_equal(virtio_dev_create_loopback(&o, &dev), 0);
	assert_int_equal(virtio_dev_has_feature(dev, VIRTIO_F_RING_PACKED), packed);
	assert_true(virtio_dev_is_connected(dev));
	assert_int_equal(virtio_dev_get_config(dev, cfg, 0, 60), 0);
	assert_int_equal(virtio_dev_get_config(dev, cfg, 0, sizeof(struct virtio_blk_config) + 1), -EINVAL);
	vq = virtio_dev_vq(dev, type == VIRTIO_DEV_SCSI ? 2 : 1);
	for (i = 0; i < 5; i++) {
		iov[i].iov_base = virtio_mem_alloc(virtio_dev_mem(dev), 512, 512);
		iov[i].iov_len = 512;
	}
	g_done = 0;
	for (round = 0; round < 100; round++) {
		/* 1 iov: direct chain of 3; 5 iovs: indirect */
		for (i = 0; i < 4; i++) {
			if (type == VIRTIO_DEV_SCSI) {
				rc = virtio_scsi_submit(vq, 0, 0, cdb, 16, iov, i & 1 ? 5 : 1,
							false, echo_cb, NULL);
			} else {
				rc = virtio_blk_submit(vq, VIRTIO_BLK_T_IN, 0, iov, i & 1 ? 5 : 1,
						       echo_cb, NULL);
			}
			assert_int_equal(rc, 0);
		}
		virtio_vq_notify(vq);
		assert_int_equal(virtio_vq_echo_serve(vq, 3), 3);
		assert_int_equal(virtio_vq_echo_serve(vq, 100), 1);
		assert_int_equal(virtio_vq_echo_serve(vq, 100), 0);
		assert_int_equal(virtio_vq_process(vq, 100), 4);
	}
	assert_int_equal(g_done, 400);
	assert_int_equal(virtio_vq_inflight(vq), 0);
	virtio_dev_destroy(dev);
}

static void
test_loopback_echo(void **state)
{
	loopback_echo(false, VIRTIO_DEV_BLK);
	loopback_echo(true, VIRTIO_DEV_BLK);
	loopback_echo(false, VIRTIO_DEV_SCSI);
	loopback_echo(true, VIRTIO_DEV_SCSI);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_start_stop),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_too_many_queues),
		cmocka_unit_test(test_packed_not_offered),
		cmocka_unit_test(test_no_version_1),
		cmocka_unit_test(test_peer_closes_during_negotiation),
		cmocka_unit_test(test_peer_silent_times_out),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_nack_fails_start),
		cmocka_unit_test(test_no_listener),
		cmocka_unit_test(test_peer_gone_while_waiting),
		cmocka_unit_test(test_wait_times_out),
		cmocka_unit_test(test_raw_msg),
		cmocka_unit_test(test_loopback_echo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user frontend: the message layer (header, payload, SCM_RIGHTS fds,
 * REPLY_ACK) and the device life cycle (negotiate, start, stop).
 * Every read is bounded by the device's timeout; a closed or misbehaving
 * peer becomes -ENOTCONN / -EPROTO and the device stays usable for cleanup.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"
#include "virtio_internal.h"

VHD_LOG_REGISTER_COMPONENT(virtio)

#define VIRTIO_MAX_VQS 1024

struct vhost_user_hdr {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t	guest_phys_addr;
	uint64_t	memory_size;
	uint64_t	userspace_addr;
	uint64_t	mmap_offset;
};

struct vhost_user_mem {
	uint32_t			nregions;
	uint32_t			padding;
	struct vhost_user_mem_region	regions[VIRTIO_MEM_MAX_REGIONS];
};

struct vhost_user_vring_state {
	uint32_t	index;
	uint32_t	num;
};

struct vhost_user_vring_addr {
	uint32_t	index;
	uint32_t	flags;
	uint64_t	desc;
	uint64_t	used;
	uint64_t	avail;
	uint64_t	log;
};

struct vhost_user_config {
	uint32_t	offset;
	uint32_t	size;
	uint32_t	flags;
	uint8_t		region[256];
};

/* Not packed: 24 bytes on the wire, as QEMU and DPDK define it. */
struct vhost_user_inflight {
	uint64_t	mmap_size;
	uint64_t	mmap_offset;
	uint16_t	num_queues;
	uint16_t	queue_size;
};

struct virtio_dev {
	struct virtio_dev_opts	opts;
	char			path[108];
	int			sock;
	bool			connected;
	bool			started;
	bool			loopback;
	uint64_t		offered;
	uint64_t		features;
	uint64_t		protocol_offered;
	uint64_t		protocol;
	uint16_t		max_queues;
	uint16_t		nvqs;
	struct virtio_mem	*mem;
	struct virtio_vq	*vqs;
	void			*inflight;
	uint64_t		inflight_size;
	int			inflight_fd;
	/* as sent in SET_INFLIGHT_FD: sent again, with the same fd, after a reconnect */
	struct vhost_user_inflight inflight_info;
	uint32_t		reconnects;
};

static uint64_t
dev_timeout_ms(const struct virtio_dev *dev)
{
	return dev->opts.timeout_ms ? dev->opts.timeout_ms : 5000;
}

int
virtio_dev_socket_fd(const struct virtio_dev *dev)
{
	return dev->connected ? dev->sock : -1;
}

/* For virtio_vq_wait(): the socket to watch, -1 when the owner reconnects. */
int virtio_dev_wait_fd(const struct virtio_dev *dev);
int
virtio_dev_wait_fd(const struct virtio_dev *dev)
{
	return dev->opts.reconnect ? -1 : virtio_dev_socket_fd(dev);
}

void virtio_dev_mark_disconnected(struct virtio_dev *dev);
void
virtio_dev_mark_disconnected(struct virtio_dev *dev)
{
	if (dev->connected) {
		VHD_DEBUGLOG(virtio, "%s: peer disconnected\n", dev->path);
	}
	dev->connected = false;
}

bool
virtio_dev_is_connected(struct virtio_dev *dev)
{
	struct pollfd pfd = {.fd = dev->sock, .events = POLLRDHUP};

	if (dev->loopback) {
		return true;
	}
	if (!dev->connected || dev->sock < 0) {
		return false;
	}
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		virtio_dev_mark_disconnected(dev);
		return false;
	}
	return true;
}

static int
msg_send(struct virtio_dev *dev, uint32_t request, uint32_t flags, const void *payload,
	 uint32_t size, const int *fds, int nfds)
{
	struct vhost_user_hdr hdr = {.request = request, .flags = flags, .size = size};
	char cbuf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	size_t total = sizeof(hdr) + size, done;
	ssize_t n;

	if (!dev->connected) {
		return -ENOTCONN;
	}
	if (nfds < 0 || nfds > VHOST_USER_MAX_FDS) {
		return -EINVAL;
	}
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		n = sendmsg(dev->sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int rc = -errno;

		if (rc == -EPIPE || rc == -ECONNRESET) {
			virtio_dev_mark_disconnected(dev);
			return -ENOTCONN;
		}
		return rc;
	}
	/* A short send: push the rest without fds. */
	done = (size_t)n;
	while (done < total) {
		const uint8_t *p;
		size_t off;

		if (done < sizeof(hdr)) {
			p = (const uint8_t *)&hdr + done;
			off = sizeof(hdr) - done;
		} else {
			p = (const uint8_t *)payload + (done - sizeof(hdr));
			off = total - done;
		}
		n = send(dev->sock, p, off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			virtio_dev_mark_disconnected(dev);
			return -ENOTCONN;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Read exactly `len` bytes before the deadline; collects fds from the first chunk. */
static int
sock_read_full(struct virtio_dev *dev, void *buf, size_t len, uint64_t deadline_us, int *fds,
	       int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	size_t done = 0;

	while (done < len) {
		struct iovec iov = {(uint8_t *)buf + done, len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		struct pollfd pfd = {.fd = dev->sock, .events = POLLIN};
		uint64_t now = util_now_us();
		ssize_t n;
		int rc;

		if (now >= deadline_us) {
			return -ETIMEDOUT;
		}
		rc = poll(&pfd, 1, (int)((deadline_us - now + 999) / 1000));
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc < 0) {
			return -errno;
		}
		if (rc == 0) {
			return -ETIMEDOUT;
		}
		if (fds != NULL) {
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
		}
		n = recvmsg(dev->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			virtio_dev_mark_disconnected(dev);
			return -ENOTCONN;
		}
		if (fds != NULL) {
			struct cmsghdr *cm;

			for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
				int i, cnt;

				if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
					continue;
				}
				cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				for (i = 0; i < cnt; i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(cm) + sizeof(int) * (size_t)i,
					       sizeof(int));
					if (*nfds < VHOST_USER_MAX_FDS) {
						fds[(*nfds)++] = fd;
					} else {
						close(fd);
					}
				}
			}
			fds = NULL;	/* only the header carries fds */
		}
		done += (size_t)n;
	}
	return 0;
}

/* Receive a reply to `request`; payload copied into reply (max *reply_size). */
static int
msg_recv(struct virtio_dev *dev, uint32_t request, void *reply, uint32_t *reply_size,
	 int *reply_fd)
{
	uint64_t deadline = util_now_us() + dev_timeout_ms(dev) * 1000;
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	struct vhost_user_hdr hdr;
	int fds[VHOST_USER_MAX_FDS], nfds = 0, rc, i;

	if (reply_fd) {
		*reply_fd = -1;
	}
	rc = sock_read_full(dev, &hdr, sizeof(hdr), deadline, fds, &nfds);
	if (rc == 0 && hdr.size > VHOST_USER_PAYLOAD_MAX) {
		VHD_ERRLOG("%s: reply to request %u has size %u\n", dev->path, request, hdr.size);
		virtio_dev_mark_disconnected(dev);
		rc = -EPROTO;
	}
	if (rc == 0) {
		rc = sock_read_full(dev, payload, hdr.size, deadline, NULL, NULL);
	}
	if (rc == 0 && (hdr.request != request || !(hdr.flags & VHOST_USER_FLAG_REPLY) ||
			(hdr.flags & 0x3) != VHOST_USER_VERSION)) {
		VHD_ERRLOG("%s: expected reply to %u, got request %u flags 0x%x\n", dev->path,
			   request, hdr.request, hdr.flags);
		rc = -EPROTO;
	}
	if (rc != 0) {
		for (i = 0; i < nfds; i++) {
			close(fds[i]);
		}
		return rc;
	}
	if (reply != NULL) {
		memcpy(reply, payload, VHD_MIN(hdr.size, *reply_size));
		*reply_size = hdr.size;
	}
	for (i = 0; i < nfds; i++) {
		if (i == 0 && reply_fd != NULL) {
			*reply_fd = fds[0];
		} else {
			close(fds[i]);
		}
	}
	return 0;
}

int
virtio_dev_msg(struct virtio_dev *dev, uint32_t request, const void *payload, uint32_t size,
	       const int *fds, int nfds, bool need_ack, void *reply, uint32_t *reply_size,
	       int *reply_fd)
{
	uint32_t flags = VHOST_USER_VERSION;
	uint64_t ack = 0;
	uint32_t ack_size = sizeof(ack);
	int rc;

	if (size > VHOST_USER_PAYLOAD_MAX) {
		return -EINVAL;
	}
	need_ack = need_ack && reply == NULL &&
		   (dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	if (need_ack) {
		flags |= VHOST_USER_FLAG_NEED_REPLY;
	}
	VHD_DEBUGLOG(virtio, "%s: send request %u size %u fds %d\n", dev->path, request, size,
		     nfds);
	rc = msg_send(dev, request, flags, payload, size, fds, nfds);
	if (rc != 0) {
		return rc;
	}
	if (reply != NULL) {
		return msg_recv(dev, request, reply, reply_size, reply_fd);
	}
	if (need_ack) {
		rc = msg_recv(dev, request, &ack, &ack_size, NULL);
		if (rc != 0) {
			return rc;
		}
		if (ack_size != sizeof(ack)) {
			return -EPROTO;
		}
		if (ack != 0) {
			VHD_DEBUGLOG(virtio, "%s: request %u nacked (%" PRIu64 ")\n", dev->path,
				     request, ack);
			return -EIO;
		}
	}
	return 0;
}

static int
msg_get_u64(struct virtio_dev *dev, uint32_t request, uint64_t *val)
{
	uint32_t size = sizeof(*val);
	int rc;

	rc = virtio_dev_msg(dev, request, NULL, 0, NULL, 0, false, val, &size, NULL);
	if (rc == 0 && size != sizeof(*val)) {
		VHD_ERRLOG("%s: reply to %u has size %u, expected 8\n", dev->path, request, size);
		rc = -EPROTO;
	}
	return rc;
}

static int
msg_set_u64(struct virtio_dev *dev, uint32_t request, uint64_t val)
{
	return virtio_dev_msg(dev, request, &val, sizeof(val), NULL, 0, true, NULL, NULL, NULL);
}

static uint64_t
dev_supported_features(const struct virtio_dev *dev)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

	if (dev->opts.packed) {
		f |= 1ull << VIRTIO_F_RING_PACKED;
	}
	if (dev->opts.type == VIRTIO_DEV_BLK) {
		f |= (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		     (1ull << VIRTIO_BLK_F_GEOMETRY) | (1ull << VIRTIO_BLK_F_RO) |
		     (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		     (1ull << VIRTIO_BLK_F_TOPOLOGY) | (1ull << VIRTIO_BLK_F_CONFIG_WCE) |
		     (1ull << VIRTIO_BLK_F_MQ) | (1ull << VIRTIO_BLK_F_DISCARD) |
		     (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	} else {
		f |= (1ull << VIRTIO_SCSI_F_INOUT) | (1ull << VIRTIO_SCSI_F_HOTPLUG) |
		     (1ull << VIRTIO_SCSI_F_CHANGE);
	}
	return f & ~dev->opts.features_refuse;
}

/* Open the socket to dev->path. */
static int
dev_sock_open(struct virtio_dev *dev, bool quiet)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	dev->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dev->sock < 0) {
		return -errno;
	}
	memcpy(sa.sun_path, dev->path, strlen(dev->path));
	if (connect(dev->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		if (!quiet) {
			VHD_ERRLOG("%s: connect: %s\n", dev->path, strerror(-rc));
		}
		close(dev->sock);
		dev->sock = -1;
		return rc;
	}
	dev->connected = true;
	return 0;
}

/* GET_FEATURES ... SET_OWNER on a fresh connection; sets offered/features/protocol. */
static int
dev_negotiate(struct virtio_dev *dev)
{
	const struct virtio_dev_opts *opts = &dev->opts;
	uint64_t want;
	int rc;

	rc = msg_get_u64(dev, VHOST_USER_GET_FEATURES, &dev->offered);
	if (rc != 0) {
		return rc;
	}
	if (!(dev->offered & (1ull << VIRTIO_F_VERSION_1))) {
		VHD_ERRLOG("%s: device does not offer VIRTIO_F_VERSION_1\n", dev->path);
		return -ENOTSUP;
	}
	if (opts->packed && !(dev->offered & (1ull << VIRTIO_F_RING_PACKED))) {
		VHD_ERRLOG("%s: packed ring requested but not offered\n", dev->path);
		return -ENOTSUP;
	}
	dev->features = dev->offered & dev_supported_features(dev);
	dev->max_queues = 1;
	dev->protocol = 0;
	if (dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		rc = msg_get_u64(dev, VHOST_USER_GET_PROTOCOL_FEATURES, &dev->protocol_offered);
		if (rc != 0) {
			return rc;
		}
		want = (1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		       (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
		       (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
		       (1ull << VHOST_USER_PROTOCOL_F_STATUS);
		want &= ~opts->protocol_features_refuse;
		/* No ack for SET_PROTOCOL_FEATURES itself: REPLY_ACK is not agreed yet. */
		want &= dev->protocol_offered;
		rc = virtio_dev_msg(dev, VHOST_USER_SET_PROTOCOL_FEATURES, &want, sizeof(want), NULL,
				    0, false, NULL, NULL, NULL);
		if (rc != 0) {
			return rc;
		}
		dev->protocol = want;
		if (dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_MQ)) {
			uint64_t qn;

			rc = msg_get_u64(dev, VHOST_USER_GET_QUEUE_NUM, &qn);
			if (rc != 0) {
				return rc;
			}
			if (qn == 0 || qn > VIRTIO_MAX_VQS) {
				VHD_WARNLOG("%s: GET_QUEUE_NUM %" PRIu64 ", clamping to %u\n",
					    dev->path, qn, VIRTIO_MAX_VQS);
				qn = qn == 0 ? 1 : VIRTIO_MAX_VQS;
			}
			dev->max_queues = (uint16_t)qn;
		}
	}
	return virtio_dev_msg(dev, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, true, NULL, NULL, NULL);
}

int
virtio_dev_connect(const struct virtio_dev_opts *opts, struct virtio_dev **devp)
{
	struct virtio_dev *dev;
	int rc;

	if (opts == NULL || opts->socket_path == NULL || devp == NULL ||
	    strlen(opts->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->opts = *opts;
	dev->inflight_fd = -1;
	snprintf(dev->path, sizeof(dev->path), "%s", opts->socket_path);
	dev->opts.socket_path = dev->path;
	rc = dev_sock_open(dev, false);
	if (rc != 0) {
		goto err;
	}
	rc = dev_negotiate(dev);
	if (rc != 0) {
		if (rc != -ENOTSUP) {
			VHD_ERRLOG("%s: negotiation failed: %s\n", dev->path, strerror(-rc));
		}
		goto err;
	}
	*devp = dev;
	return 0;
err:
	virtio_dev_destroy(dev);
	return rc;
}

static int
dev_set_vring_fd(struct virtio_dev *dev, uint32_t request, uint16_t index, int fd)
{
	uint64_t v = index;

	if (fd < 0) {
		v |= VHOST_USER_VRING_NOFD;
		return virtio_dev_msg(dev, request, &v, sizeof(v), NULL, 0, true, NULL, NULL,
				      NULL);
	}
	return virtio_dev_msg(dev, request, &v, sizeof(v), &fd, 1, true, NULL, NULL, NULL);
}

static int
dev_set_state(struct virtio_dev *dev, uint32_t request, uint16_t index, uint32_t num)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};

	return virtio_dev_msg(dev, request, &st, sizeof(st), NULL, 0, true, NULL, NULL, NULL);
}

static int
dev_setup_inflight(struct virtio_dev *dev, uint16_t qsize)
{
	struct vhost_user_inflight inf = {.num_queues = dev->nvqs, .queue_size = qsize};
	uint32_t size = sizeof(inf);
	int rc, fd = -1;

	rc = virtio_dev_msg(dev, VHOST_USER_GET_INFLIGHT_FD, &inf, sizeof(inf), NULL, 0, false,
			    &inf, &size, &fd);
	if (rc != 0) {
		return rc;
	}
	if (size != sizeof(inf)) {
		rc = -EPROTO;
		goto out;
	}
	if (inf.mmap_size == 0) {
		/* The backend does not track inflight I/O after all. */
		goto out;
	}
	if (fd < 0 || inf.mmap_size > (1ull << 32)) {
		rc = -EPROTO;
		goto out;
	}
	dev->inflight = mmap(NULL, inf.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			     (off_t)inf.mmap_offset);
	if (dev->inflight == MAP_FAILED) {
		dev->inflight = NULL;
		rc = -errno;
		goto out;
	}
	dev->inflight_size = inf.mmap_size;
	rc = virtio_dev_msg(dev, VHOST_USER_SET_INFLIGHT_FD, &inf, sizeof(inf), &fd, 1, false,
			    NULL, NULL, NULL);
	if (rc == 0) {
		dev->inflight_fd = fd;
		dev->inflight_info = inf;
		fd = -1;
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

static uint64_t
dev_uva(struct virtio_dev *dev, const void *p)
{
	/* Our "user addresses" are our own mappings: the backend maps them via SET_MEM_TABLE. */
	return (uint64_t)(uintptr_t)p;
}

/*
 * The ring base for SET_VRING_BASE. A fresh ring starts at 0 (packed: wrap bit
 * set). After a reconnect it is where the device got to, as QEMU sends it
 * when its backend vanished: split, the used index the device published (with
 * the inflight region, the backend adds the requests it had taken and not
 * completed, and resubmits those); packed, the driver's used position and
 * wrap counter (a backend with an inflight region takes its own from there).
 */
static uint32_t
dev_vq_base(const struct virtio_vq *vq, bool restart)
{
	if (!restart) {
		return vq->packed ? 0x8000u : 0u;
	}
	if (vq->packed) {
		uint16_t pos = __atomic_load_n(&vq->used_pos, __ATOMIC_RELAXED);
		bool wrap = __atomic_load_n(&vq->used_wrap, __ATOMIC_RELAXED);

		return pos | (wrap ? 0x8000u : 0u);
	}
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
}

static int
dev_start_vq(struct virtio_dev *dev, struct virtio_vq *vq, bool restart)
{
	struct vhost_user_vring_addr addr = {.index = vq->index};
	void *d, *a, *u;
	int rc;

	rc = dev_set_state(dev, VHOST_USER_SET_VRING_NUM, vq->index, vq->size);
	if (rc == 0) {
		rc = dev_set_state(dev, VHOST_USER_SET_VRING_BASE, vq->index,
				   dev_vq_base(vq, restart));
	}
	if (rc != 0) {
		return rc;
	}
	virtio_vq_rings(vq, &d, &a, &u);
	addr.desc = dev_uva(dev, d);
	addr.avail = dev_uva(dev, a);
	addr.used = dev_uva(dev, u);
	rc = virtio_dev_msg(dev, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, true,
			    NULL, NULL, NULL);
	if (rc != 0) {
		return rc;
	}
	/* After a reconnect the same eventfds: a kick pending in one is not lost. */
	if (vq->kick_fd < 0) {
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	if (vq->call_fd < 0) {
		vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	if (vq->kick_fd < 0 || vq->call_fd < 0) {
		return -errno;
	}
	/* Call before kick: a backend that starts on the kick has its call fd. */
	rc = dev_set_vring_fd(dev, VHOST_USER_SET_VRING_CALL, vq->index, vq->call_fd);
	if (rc == 0) {
		rc = dev_set_vring_fd(dev, VHOST_USER_SET_VRING_KICK, vq->index, vq->kick_fd);
	}
	return rc;
}

/* Guest memory and rings, no messages. */
static int
dev_setup_rings(struct virtio_dev *dev)
{
	struct virtio_mem_region_spec one = {.gpa = 0};
	uint16_t qsize = dev->opts.queue_size ? dev->opts.queue_size : 128;
	uint16_t nslots;
	uint32_t i;
	int rc;

	dev->nvqs = dev->opts.num_queues;
	if (dev->nvqs == 0) {
		dev->nvqs = dev->opts.type == VIRTIO_DEV_SCSI ? 3 : 1;
	}
	if (dev->nvqs > dev->max_queues || dev->nvqs > VIRTIO_MAX_VQS) {
		VHD_ERRLOG("%s: %u queues requested, device has %u\n", dev->path, dev->nvqs,
			   dev->max_queues);
		return -EINVAL;
	}
	nslots = dev->opts.slots_per_queue ? dev->opts.slots_per_queue : qsize;
	if (dev->opts.nregions == 0) {
		one.size = dev->opts.mem_size ? dev->opts.mem_size : 64ull << 20;
		one.size = VHD_ALIGN_UP(one.size, 4096ull);
		rc = virtio_mem_create(&one, 1, &dev->mem);
	} else {
		rc = virtio_mem_create(dev->opts.regions, dev->opts.nregions, &dev->mem);
	}
	if (rc != 0) {
		return rc;
	}
	dev->vqs = calloc(dev->nvqs, sizeof(*dev->vqs));
	if (dev->vqs == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < dev->nvqs; i++) {
		dev->vqs[i].kick_fd = -1;
		dev->vqs[i].call_fd = -1;
	}
	for (i = 0; i < dev->nvqs; i++) {
		rc = virtio_vq_init(&dev->vqs[i], dev->mem, (uint16_t)i, qsize, dev->features,
				    nslots);
		dev->vqs[i].dev = dev;
		if (rc != 0) {
			VHD_ERRLOG("%s: vq %u: cannot set up its rings: %s\n", dev->path, i,
				   strerror(-rc));
			return rc;
		}
		dev->vqs[i].echo_scsi = dev->opts.type == VIRTIO_DEV_SCSI;
	}
	return 0;
}

int
virtio_dev_create_loopback(const struct virtio_dev_opts *opts, struct virtio_dev **devp)
{
	struct virtio_dev *dev;
	uint32_t i;
	int rc;

	if (opts == NULL || devp == NULL) {
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->opts = *opts;
	dev->sock = -1;
	dev->inflight_fd = -1;
	dev->loopback = true;
	snprintf(dev->path, sizeof(dev->path), "loopback");
	dev->opts.socket_path = dev->path;
	dev->offered = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		       (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_RING_PACKED) |
		       (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		       (1ull << VIRTIO_BLK_F_MQ);
	dev->features = dev->offered & dev_supported_features(dev);
	dev->max_queues = VIRTIO_MAX_VQS;
	rc = dev_setup_rings(dev);
	if (rc != 0) {
		virtio_dev_destroy(dev);
		return rc;
	}
	/* The echo device polls: never kick it. */
	for (i = 0; i < dev->nvqs; i++) {
		struct virtio_vq *vq = &dev->vqs[i];

		if (vq->packed) {
			vq->device_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
		} else {
			vq->used->flags = VRING_USED_F_NO_NOTIFY;
			*(uint16_t *)&vq->used->ring[vq->size] = (uint16_t)0x8000;
		}
		vq->echo_wrap = true;
	}
	dev->started = true;
	*devp = dev;
	return 0;
}

/*
 * The start messages, on rings already set up. `restart`: after a reconnect,
 * with the kept inflight region (SET_INFLIGHT_FD with the old fd and no
 * GET_INFLIGHT_FD, as QEMU does) and the ring bases the device reached.
 */
static int
dev_start_msgs(struct virtio_dev *dev, bool restart)
{
	struct vhost_user_mem mt = {0};
	int fds[VIRTIO_MEM_MAX_REGIONS];
	uint16_t qsize = dev->opts.queue_size ? dev->opts.queue_size : 128;
	uint32_t i;
	int rc;

	rc = msg_set_u64(dev, VHOST_USER_SET_FEATURES, dev->features);
	if (rc != 0) {
		return rc;
	}
	if (dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_STATUS)) {
		/* ACKNOWLEDGE | DRIVER | FEATURES_OK */
		rc = msg_set_u64(dev, VHOST_USER_SET_STATUS, 0x1 | 0x2 | 0x8);
		if (rc != 0) {
			return rc;
		}
	}
	mt.nregions = dev->mem->n;
	for (i = 0; i < dev->mem->n; i++) {
		mt.regions[i].guest_phys_addr = dev->mem->r[i].gpa;
		mt.regions[i].memory_size = dev->mem->r[i].size;
		mt.regions[i].userspace_addr = dev_uva(dev, dev->mem->r[i].hva);
		mt.regions[i].mmap_offset = 0;
		fds[i] = dev->mem->r[i].fd;
	}
	rc = virtio_dev_msg(dev, VHOST_USER_SET_MEM_TABLE, &mt,
			    8 + (uint32_t)sizeof(mt.regions[0]) * mt.nregions, fds, (int)mt.nregions,
			    true, NULL, NULL, NULL);
	if (rc != 0) {
		return rc;
	}
	if (dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
		if (restart && dev->inflight_fd >= 0) {
			rc = virtio_dev_msg(dev, VHOST_USER_SET_INFLIGHT_FD, &dev->inflight_info,
					    sizeof(dev->inflight_info), &dev->inflight_fd, 1, false,
					    NULL, NULL, NULL);
		} else if (dev->inflight_fd < 0) {
			rc = dev_setup_inflight(dev, qsize);
		}
		if (rc != 0) {
			return rc;
		}
	}
	for (i = 0; i < dev->nvqs; i++) {
		rc = dev_start_vq(dev, &dev->vqs[i], restart);
		if (rc != 0) {
			return rc;
		}
	}
	if (dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		for (i = 0; i < dev->nvqs; i++) {
			rc = dev_set_state(dev, VHOST_USER_SET_VRING_ENABLE, (uint16_t)i, 1);
			if (rc != 0) {
				return rc;
			}
		}
	}
	if (dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_STATUS)) {
		rc = msg_set_u64(dev, VHOST_USER_SET_STATUS, 0x1 | 0x2 | 0x8 | 0x4);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int
virtio_dev_start(struct virtio_dev *dev)
{
	int rc;

	if (dev->started) {
		return -EALREADY;
	}
	rc = dev_setup_rings(dev);
	if (rc == 0) {
		rc = dev_start_msgs(dev, false);
	}
	if (rc != 0) {
		VHD_ERRLOG("%s: start failed: %s\n", dev->path, strerror(-rc));
		return rc;
	}
	dev->started = true;
	return 0;
}

int
virtio_dev_reconnect(struct virtio_dev *dev, uint32_t timeout_ms)
{
	uint64_t deadline = util_now_us() + (uint64_t)timeout_ms * 1000, features;
	uint32_t attempts = 0;
	uint16_t i;
	int rc = -ETIMEDOUT;

	if (dev == NULL || dev->loopback) {
		return -EINVAL;
	}
	if (!dev->started) {
		return -ENODEV;
	}
	features = dev->features;
	for (;;) {
		if (dev->sock >= 0) {
			close(dev->sock);
			dev->sock = -1;
		}
		dev->connected = false;
		attempts++;
		rc = dev_sock_open(dev, true);
		if (rc == 0) {
			rc = dev_negotiate(dev);
			if (rc == 0 && dev->features != features) {
				VHD_ERRLOG("%s: the new backend negotiates features 0x%" PRIx64
					   ", not 0x%" PRIx64 "\n", dev->path, dev->features, features);
				dev->features = features;
				rc = -EPROTO;
				break;
			}
			if (rc == 0 && dev->nvqs > dev->max_queues) {
				VHD_ERRLOG("%s: the new backend has %u queues, %u are started\n",
					   dev->path, dev->max_queues, dev->nvqs);
				rc = -EPROTO;
				break;
			}
			if (rc == 0) {
				rc = dev_start_msgs(dev, true);
			}
			if (rc == 0) {
				break;
			}
		}
		VHD_DEBUGLOG(virtio, "%s: reconnect attempt %u: %s\n", dev->path, attempts,
			     strerror(-rc));
		if (util_now_us() >= deadline) {
			break;
		}
		/* Not listening yet (-ENOENT, -ECONNREFUSED) or gone again mid-way: retry. */
		usleep(20000);
	}
	if (rc != 0) {
		VHD_ERRLOG("%s: reconnect failed after %u attempts: %s\n", dev->path, attempts,
			   strerror(-rc));
		if (dev->sock >= 0) {
			close(dev->sock);
			dev->sock = -1;
		}
		dev->connected = false;
		return rc;
	}
	dev->reconnects++;
	/* The new backend looks at the rings now: requests added meanwhile are not lost. */
	for (i = 0; i < dev->nvqs; i++) {
		virtio_vq_raw_kick(&dev->vqs[i]);
	}
	VHD_DEBUGLOG(virtio, "%s: reconnected (attempt %u)\n", dev->path, attempts);
	return 0;
}

uint32_t
virtio_dev_reconnects(const struct virtio_dev *dev)
{
	return dev->reconnects;
}

int
virtio_dev_open(const struct virtio_dev_opts *opts, struct virtio_dev **devp)
{
	struct virtio_dev *dev;
	int rc;

	rc = virtio_dev_connect(opts, &dev);
	if (rc != 0) {
		return rc;
	}
	rc = virtio_dev_start(dev);
	if (rc != 0) {
		virtio_dev_destroy(dev);
		return rc;
	}
	*devp = dev;
	return 0;
}

int
virtio_dev_stop(struct virtio_dev *dev)
{
	struct vhost_user_vring_state st;
	uint32_t size;
	int rc = 0, rc2;
	uint16_t i;

	if (!dev->started) {
		return 0;
	}
	dev->started = false;
	for (i = 0; i < dev->nvqs; i++) {
		if (dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
			rc2 = dev_set_state(dev, VHOST_USER_SET_VRING_ENABLE, i, 0);
			if (rc2 != 0 && rc == 0) {
				rc = rc2;
			}
		}
		st.index = i;
		st.num = 0;
		size = sizeof(st);
		rc2 = virtio_dev_msg(dev, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, false,
				     &st, &size, NULL);
		if (rc2 == 0 && (size != sizeof(st) || st.index != i)) {
			rc2 = -EPROTO;
		}
		if (rc2 != 0 && rc == 0) {
			rc = rc2;
		}
		if (rc2 == -ENOTCONN) {
			break;
		}
	}
	return rc;
}

void
virtio_dev_destroy(struct virtio_dev *dev)
{
	uint16_t i;

	if (dev == NULL) {
		return;
	}
	if (dev->sock >= 0) {
		close(dev->sock);
		dev->sock = -1;
	}
	dev->connected = false;
	for (i = 0; dev->vqs != NULL && i < dev->nvqs; i++) {
		virtio_vq_fini(&dev->vqs[i]);
	}
	free(dev->vqs);
	if (dev->inflight != NULL) {
		munmap(dev->inflight, dev->inflight_size);
	}
	if (dev->inflight_fd >= 0) {
		close(dev->inflight_fd);
	}
	virtio_mem_destroy(dev->mem);
	free(dev);
}

uint64_t
virtio_dev_features(const struct virtio_dev *dev)
{
	return dev->features;
}

uint64_t
virtio_dev_offered_features(const struct virtio_dev *dev)
{
	return dev->offered;
}

uint64_t
virtio_dev_protocol_features(const struct virtio_dev *dev)
{
	return dev->protocol;
}

uint16_t
virtio_dev_max_queues(const struct virtio_dev *dev)
{
	return dev->max_queues;
}

uint16_t
virtio_dev_num_queues(const struct virtio_dev *dev)
{
	return dev->started ? dev->nvqs : 0;
}

struct virtio_mem *
virtio_dev_mem(struct virtio_dev *dev)
{
	return dev->mem;
}

struct virtio_vq *
virtio_dev_vq(struct virtio_dev *dev, uint16_t index)
{
	if (dev->vqs == NULL || index >= dev->nvqs) {
		return NULL;
	}
	return &dev->vqs[index];
}

int
virtio_dev_get_config(struct virtio_dev *dev, void *buf, uint32_t offset, uint32_t size)
{
	struct vhost_user_config cfg = {.offset = offset, .size = size};
	uint32_t rsize = sizeof(cfg);
	int rc;

	if (dev->loopback) {
		struct virtio_blk_config bc = {.capacity = (1ull << 30) / 512, .blk_size = 512,
					       .num_queues = dev->nvqs, .seg_max = 62};

		if ((uint64_t)offset + size > sizeof(bc)) {
			return -EINVAL;
		}
		memcpy(buf, (uint8_t *)&bc + offset, size);
		return 0;
	}
	if (!(dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_CONFIG))) {
		return -ENOTSUP;
	}
	if (size > sizeof(cfg.region)) {
		return -EINVAL;
	}
	rc = virtio_dev_msg(dev, VHOST_USER_GET_CONFIG, &cfg, 12 + size, NULL, 0, false, &cfg,
			    &rsize, NULL);
	if (rc != 0) {
		return rc;
	}
	if (rsize != 12 + size || cfg.size != size) {
		VHD_ERRLOG("%s: GET_CONFIG reply size %u (config %u), expected %u\n", dev->path,
			   rsize, cfg.size, 12 + size);
		return -EIO;
	}
	memcpy(buf, cfg.region, size);
	return 0;
}

int
virtio_dev_get_status(struct virtio_dev *dev, uint8_t *status)
{
	uint64_t v;
	int rc;

	if (!(dev->protocol & (1ull << VHOST_USER_PROTOCOL_F_STATUS))) {
		return -ENOTSUP;
	}
	rc = msg_get_u64(dev, VHOST_USER_GET_STATUS, &v);
	if (rc == 0) {
		*status = (uint8_t)v;
	}
	return rc;
}

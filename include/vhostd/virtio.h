/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/virtio: a vhost-user *frontend* (what QEMU does), as a library.
 *
 * It connects to a vhost-user socket (vhostd, qemu-storage-daemon, ...),
 * negotiates features and protocol features, shares "guest memory" (memfds)
 * with SET_MEM_TABLE, sets up split or packed virtqueues with kick/call
 * eventfds and then submits virtio-blk requests or virtio-scsi commands.
 *
 * Three levels:
 *   - messages: virtio_dev_msg() sends any vhost-user request (with fds) and
 *     reads its reply, with a timeout;
 *   - rings: virtio_vq_add()/virtio_vq_get_used() for ordinary chains, and
 *     virtio_vq_raw_*() that write *arbitrary* descriptors for hostile tests;
 *   - requests: virtio_blk_submit*() / virtio_scsi_*() with a completion
 *     callback run from virtio_vq_process().
 *
 * Threading: a struct virtio_dev's control calls (connect, start, stop,
 * msg, destroy) are made from one thread. Each virtqueue may then be driven
 * by its own thread (one thread per queue, no locks inside).
 * Every wait is bounded by opts.timeout_ms; a peer that closes the socket
 * or misbehaves gives -ENOTCONN / -EPROTO, never a crash or a hang.
 */
#ifndef VHOSTD_VIRTIO_H
#define VHOSTD_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_scsi.h>

/* ---- vhost-user protocol constants ---------------------------------- */

enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
};

#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_FLAG_REPLY		(1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY	(1u << 3)
#define VHOST_USER_HDR_SIZE		12u
#define VHOST_USER_MAX_FDS		8
#define VHOST_USER_PAYLOAD_MAX		4096u
#define VHOST_USER_VRING_NOFD		(1ull << 8)

#define VHOST_USER_F_PROTOCOL_FEATURES	30

#define VHOST_USER_PROTOCOL_F_MQ		0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD		1
#define VHOST_USER_PROTOCOL_F_REPLY_ACK		3
#define VHOST_USER_PROTOCOL_F_CONFIG		9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD	12
#define VHOST_USER_PROTOCOL_F_STATUS		16

#ifndef VIRTIO_F_VERSION_1
#define VIRTIO_F_VERSION_1		32
#endif
#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED		34
#endif

/* Device status bits (GET_STATUS). */
#define VIRTIO_DEV_STATUS_NEEDS_RESET	0x40

/* ---- guest memory ---------------------------------------------------- */

#define VIRTIO_MEM_MAX_REGIONS 8

/* One region of guest-physical address space, backed by its own memfd. */
struct virtio_mem_region_spec {
	uint64_t	gpa;	/* guest-physical start; regions must not overlap */
	uint64_t	size;	/* bytes, multiple of 4096 */
};

struct virtio_mem;

/*
 * Create guest memory from `n` regions (1..VIRTIO_MEM_MAX_REGIONS). Gaps
 * between regions are allowed (and are "outside guest memory").
 * Returns 0 or -errno (-EINVAL for bad specs, -ENOMEM, memfd/mmap errors).
 */
int virtio_mem_create(const struct virtio_mem_region_spec *specs, uint32_t n,
		      struct virtio_mem **mem);
void virtio_mem_destroy(struct virtio_mem *mem);

/*
 * Allocate `size` bytes aligned to `align` (power of two) from region
 * `region`, bump-style from the region's start (never freed before
 * virtio_mem_destroy). Returns the host pointer or NULL when it does not fit.
 * The tail of each region is never used by the library itself, so tests may
 * place buffers at a region's end with virtio_mem_gpa_to_hva().
 */
void *virtio_mem_alloc_in(struct virtio_mem *mem, uint32_t region, uint64_t size, uint64_t align);
/* Same, from the first region with room. */
void *virtio_mem_alloc(struct virtio_mem *mem, uint64_t size, uint64_t align);

/* Host pointer for [gpa, gpa+len) when it lies inside one region, else NULL. */
void *virtio_mem_gpa_to_hva(const struct virtio_mem *mem, uint64_t gpa, uint64_t len);
/* 0 and *gpa for a host pointer inside guest memory, else -EFAULT. */
int virtio_mem_hva_to_gpa(const struct virtio_mem *mem, const void *hva, uint64_t *gpa);
uint32_t virtio_mem_region_count(const struct virtio_mem *mem);
/* Region `i`'s gpa, size and host pointer; -EINVAL for a bad index. */
int virtio_mem_region_get(const struct virtio_mem *mem, uint32_t i, uint64_t *gpa, uint64_t *size,
			  void **hva);

/* ---- device ------------------------------------------------------------ */

enum virtio_dev_type {
	VIRTIO_DEV_BLK = 0,	/* every vring is a request queue */
	VIRTIO_DEV_SCSI,	/* vring 0 controlq, 1 eventq, 2.. request queues */
};

struct virtio_dev_opts {
	const char		*socket_path;
	enum virtio_dev_type	type;
	uint32_t		timeout_ms;	/* each reply / each wait; 0 = 5000 */
	/*
	 * Virtio feature bits to *refuse* even if offered (e.g. 1 << EVENT_IDX).
	 * The library accepts the offered features it implements: VERSION_1,
	 * INDIRECT_DESC, EVENT_IDX, RING_PACKED (only with `packed`), the
	 * device-specific bits of blk/scsi, and PROTOCOL_FEATURES.
	 */
	uint64_t		features_refuse;
	/* Protocol feature bits to refuse (e.g. 1 << REPLY_ACK). */
	uint64_t		protocol_features_refuse;
	bool			packed;		/* require VIRTIO_F_RING_PACKED */
	uint16_t		num_queues;	/* vrings to start; 0 = 1 (blk) / 3 (scsi) */
	uint16_t		queue_size;	/* power of two for split; 0 = 128 */
	uint32_t		nregions;	/* 0: one region of mem_size at gpa 0 */
	struct virtio_mem_region_spec regions[VIRTIO_MEM_MAX_REGIONS];
	uint64_t		mem_size;	/* 0 = 64 MiB (used when nregions = 0) */
	/*
	 * Request slots per queue for the request API (virtio_blk_submit...);
	 * 0 = queue_size. Each slot owns 512 bytes of guest memory for headers.
	 */
	uint16_t		slots_per_queue;
	/*
	 * The owner calls virtio_dev_reconnect() when the backend goes away
	 * (crash, restart) and keeps its requests in flight meanwhile:
	 * virtio_vq_wait() then sleeps on the call eventfd only (never
	 * -ENOTCONN), so queue threads may keep waiting across the reconnect.
	 */
	bool			reconnect;
};

struct virtio_dev;
struct virtio_vq;

/*
 * Connect and negotiate: GET_FEATURES, GET/SET_PROTOCOL_FEATURES (CONFIG,
 * MQ, REPLY_ACK, INFLIGHT_SHMFD, STATUS when offered and not refused;
 * INFLIGHT_SHMFD, once negotiated, makes start do GET/SET_INFLIGHT_FD and
 * STATUS makes it send SET_STATUS ... DRIVER_OK),
 * GET_QUEUE_NUM (with MQ), SET_OWNER. No memory or rings yet.
 * Returns 0 or -errno: -ENOENT/-ECONNREFUSED (no listener), -ETIMEDOUT,
 * -ENOTCONN (peer closed), -EPROTO (malformed reply), -ENOTSUP (packed
 * requested but not offered, or VERSION_1 missing).
 */
int virtio_dev_connect(const struct virtio_dev_opts *opts, struct virtio_dev **dev);

/*
 * Start the device: SET_FEATURES, guest memory + SET_MEM_TABLE, inflight
 * region (if negotiated), for each vring SET_VRING_NUM/BASE/ADDR/KICK/CALL
 * then SET_VRING_ENABLE(1). -EINVAL if num_queues exceeds GET_QUEUE_NUM.
 */
int virtio_dev_start(struct virtio_dev *dev);

/* connect + start. */
int virtio_dev_open(const struct virtio_dev_opts *opts, struct virtio_dev **dev);

/*
 * Stop: SET_VRING_ENABLE(0) and GET_VRING_BASE on every started vring
 * (the backend must stop processing before it answers). Afterwards the
 * rings may be inspected; requests still in flight are dropped.
 */
int virtio_dev_stop(struct virtio_dev *dev);

/*
 * After the backend went away (killed, restarted): connect to the same path
 * again (retrying until `timeout_ms`), renegotiate (the same virtio features
 * are required, else -EPROTO) and start the device again on the *same* guest
 * memory, rings and eventfds, as QEMU does for a vhost-user-blk reconnect:
 * SET_MEM_TABLE, SET_INFLIGHT_FD with the inflight region kept from the first
 * start (no GET_INFLIGHT_FD: the region holds what the old backend had in
 * flight), per vring NUM, BASE (split: the used index the device published;
 * packed: the driver's used position), ADDR, CALL, KICK, ENABLE; then every
 * vring is kicked. The backend resubmits the requests it had taken; requests
 * in flight stay in flight and complete normally. Queue threads may keep
 * polling their rings meanwhile (they must not call virtio_dev_* control
 * functions). 0, -ENODEV (never started), -ETIMEDOUT or the last error.
 */
int virtio_dev_reconnect(struct virtio_dev *dev, uint32_t timeout_ms);

/* Successful virtio_dev_reconnect() calls so far. */
uint32_t virtio_dev_reconnects(const struct virtio_dev *dev);

/* Close the socket and free everything (stop is not sent). NULL is a no-op. */
void virtio_dev_destroy(struct virtio_dev *dev);

uint64_t virtio_dev_features(const struct virtio_dev *dev);		/* negotiated */
uint64_t virtio_dev_offered_features(const struct virtio_dev *dev);
uint64_t virtio_dev_protocol_features(const struct virtio_dev *dev);	/* negotiated */
uint16_t virtio_dev_max_queues(const struct virtio_dev *dev);	/* GET_QUEUE_NUM or 1 */
uint16_t virtio_dev_num_queues(const struct virtio_dev *dev);	/* started */
struct virtio_mem *virtio_dev_mem(struct virtio_dev *dev);	/* NULL before start */
struct virtio_vq *virtio_dev_vq(struct virtio_dev *dev, uint16_t index);
int virtio_dev_socket_fd(const struct virtio_dev *dev);
static inline bool
virtio_dev_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return (virtio_dev_features(dev) >> bit) & 1;
}

/* GET_CONFIG (needs PROTOCOL_F_CONFIG): 0, -ENOTSUP, or a transport error. */
int virtio_dev_get_config(struct virtio_dev *dev, void *buf, uint32_t offset, uint32_t size);

/* GET_STATUS (needs PROTOCOL_F_STATUS): 0 or -ENOTSUP / transport error. */
int virtio_dev_get_status(struct virtio_dev *dev, uint8_t *status);

/*
 * false once the peer closed the socket (or a transport error was seen).
 * Checks the socket without blocking.
 */
bool virtio_dev_is_connected(struct virtio_dev *dev);

/*
 * Send one vhost-user message. `payload`/`size` as given (size may be
 * anything for hostile tests; size > VHOST_USER_PAYLOAD_MAX is -EINVAL).
 * If `reply` is non-NULL a reply with the same request code is awaited and
 * its payload copied (at most *reply_size bytes; *reply_size is set to the
 * payload size received). With `need_ack` (and REPLY_ACK negotiated) the
 * NEED_REPLY flag is set and the u64 ack is awaited: a non-zero ack is -EIO.
 * Received fds (e.g. GET_INFLIGHT_FD) go to *reply_fd (-1 if none).
 */
int virtio_dev_msg(struct virtio_dev *dev, uint32_t request, const void *payload, uint32_t size,
		   const int *fds, int nfds, bool need_ack, void *reply, uint32_t *reply_size,
		   int *reply_fd);

/* ---- virtqueues -------------------------------------------------------- */

struct virtio_buf {
	void		*addr;		/* host pointer inside guest memory */
	uint32_t	len;
	bool		write;		/* device-writable */
};

uint16_t virtio_vq_index(const struct virtio_vq *vq);
uint16_t virtio_vq_size(const struct virtio_vq *vq);
bool virtio_vq_is_packed(const struct virtio_vq *vq);
uint16_t virtio_vq_free_descs(const struct virtio_vq *vq);
int virtio_vq_call_fd(const struct virtio_vq *vq);
int virtio_vq_kick_fd(const struct virtio_vq *vq);
struct virtio_dev *virtio_vq_dev(struct virtio_vq *vq);

/*
 * Make a chain of `n` buffers available (not yet notified). `indirect` puts
 * the chain in an indirect table (one ring descriptor; needs INDIRECT_DESC).
 * `ctx` comes back from virtio_vq_get_used(). 0, -ENOSPC (ring full),
 * -EINVAL (n == 0, n too large, buffer outside guest memory),
 * -ENOTSUP (indirect not negotiated).
 */
int virtio_vq_add(struct virtio_vq *vq, const struct virtio_buf *bufs, uint16_t n, bool indirect,
		  void *ctx);

/*
 * Notify the device of what was added since the last notify, unless it
 * suppressed notifications (EVENT_IDX avail_event, NO_NOTIFY, packed
 * device event flags). Returns true if the kick eventfd was written.
 */
bool virtio_vq_notify(struct virtio_vq *vq);

/* One used entry: 0 with its ctx and length, or -EAGAIN. */
int virtio_vq_get_used(struct virtio_vq *vq, void **ctx, uint32_t *len);

/*
 * Interrupts from the device: enable asks for a call on the next used entry
 * (EVENT_IDX used_event / flags); disable suppresses them (polling).
 */
void virtio_vq_enable_interrupts(struct virtio_vq *vq);
void virtio_vq_disable_interrupts(struct virtio_vq *vq);

/* true if a used entry is ready (does not consume it). */
bool virtio_vq_has_used(struct virtio_vq *vq);

/*
 * Wait until a used entry is ready: enables interrupts, re-checks, sleeps on
 * the call eventfd and the socket. 0, -ETIMEDOUT, -ENOTCONN (peer gone).
 */
int virtio_vq_wait(struct virtio_vq *vq, uint32_t timeout_ms);

/*
 * Loopback ("null echo"): a device with no socket and no backend process.
 * Its rings are served in-process by virtio_vq_echo_serve(), which completes
 * every available request with status OK without touching the data, so a
 * client's own per-I/O cost can be measured. Features: VERSION_1,
 * INDIRECT_DESC, EVENT_IDX, RING_PACKED with opts->packed.
 * virtio_dev_get_config() answers a 1 GiB disk of 512-byte blocks.
 */
int virtio_dev_create_loopback(const struct virtio_dev_opts *opts, struct virtio_dev **dev);
/*
 * Device side of a loopback vq: complete up to `max` available requests in
 * order (status byte / SCSI response = OK, used len 1). Safe to run on one
 * thread while another drives the vq as the driver. Returns the number done.
 */
int virtio_vq_echo_serve(struct virtio_vq *vq, uint32_t max);

/* ---- low-level ring access for hostile tests --------------------------- */

/*
 * Split ring: write descriptor `idx` (< queue size) of the descriptor table
 * verbatim; `next` may be anything. The raw API and virtio_vq_add() must
 * not be mixed on one vq (raw descriptors are not tracked by the free list).
 */
int virtio_vq_raw_split_desc(struct virtio_vq *vq, uint16_t idx, uint64_t gpa, uint32_t len,
			     uint16_t flags, uint16_t next);
/* Split ring: append `head` (any value, even >= size) to the avail ring. */
int virtio_vq_raw_split_avail(struct virtio_vq *vq, uint16_t head);

/*
 * Packed ring: write `n` descriptors at the current avail position, head
 * last, with the AVAIL/USED bits for the current wrap counter OR-ed into
 * each `flags` (other bits verbatim: NEXT, WRITE, INDIRECT, any junk).
 * `n` counts ring slots consumed: the device's used entry for buffer `id`
 * of the head is expected to skip `n` slots.
 */
int virtio_vq_raw_packed_push(struct virtio_vq *vq, const struct vring_packed_desc *descs,
			      uint16_t n);
/*
 * Packed ring: as virtio_vq_raw_packed_push() but each `flags` is written
 * verbatim, AVAIL/USED bits included (bad wrap bits, a chain whose later
 * descriptors look used or belong to another lap). The position advances by
 * `n` slots as if the chain were valid. (The wrap counter of the driver at
 * the position is virtio_vq_raw_packed_wrap(): available means AVAIL = wrap, USED = !wrap.)
 */
int virtio_vq_raw_packed_push_verbatim(struct virtio_vq *vq, const struct vring_packed_desc *descs,
				       uint16_t n);
/* The driver's avail wrap counter at the next raw push (packed). */
bool virtio_vq_raw_packed_wrap(const struct virtio_vq *vq);

/* Kick unconditionally. */
void virtio_vq_raw_kick(struct virtio_vq *vq);

/* Next used entry (id as the device wrote it): 0, or -EAGAIN. */
int virtio_vq_raw_get_used(struct virtio_vq *vq, uint32_t *id, uint32_t *len);

/* Host pointers to the rings (split: desc/avail/used; packed: desc/driver/device). */
void virtio_vq_rings(struct virtio_vq *vq, void **desc, void **avail, void **used);

/* ---- requests: virtio-blk and virtio-scsi ------------------------------ */

struct virtio_req_result {
	int		status;		/* blk: VIRTIO_BLK_S_*; scsi: response byte; -errno */
	uint32_t	used_len;	/* as written by the device */
	/* scsi command: the device's response (sense, status, resid); else NULL */
	const struct virtio_scsi_cmd_resp *scsi;
};

typedef void (*virtio_req_cb)(void *cb_arg, const struct virtio_req_result *res);

/*
 * virtio-blk request of `type` (VIRTIO_BLK_T_IN/OUT/FLUSH/GET_ID) at
 * `sector` (512-byte units) over `iov` (host pointers inside guest memory).
 * The header and status byte come from the vq's slot pool.
 * 0 (cb runs from virtio_vq_process()), -ENOSPC (no slot or descriptors:
 * process completions and retry), -EINVAL.
 */
int virtio_blk_submit(struct virtio_vq *vq, uint32_t type, uint64_t sector, const struct iovec *iov,
		      int iovcnt, virtio_req_cb cb, void *cb_arg);
/* DISCARD / WRITE_ZEROES of one segment; `flags` e.g. VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP. */
int virtio_blk_submit_range(struct virtio_vq *vq, uint32_t type, uint64_t sector,
			    uint32_t num_sectors, uint32_t flags, virtio_req_cb cb, void *cb_arg);

/*
 * virtio-scsi command to target/lun. `cdb` up to VIRTIO_SCSI_CDB_SIZE bytes;
 * `iov` is data-out when `to_dev`, else data-in. res->scsi points at the
 * response while the callback runs.
 */
int virtio_scsi_submit(struct virtio_vq *vq, uint8_t target, uint16_t lun, const uint8_t *cdb,
		       uint32_t cdb_len, const struct iovec *iov, int iovcnt, bool to_dev,
		       virtio_req_cb cb, void *cb_arg);
/* Task management on the controlq (vring 0): res->status is the response byte. */
int virtio_scsi_submit_tmf(struct virtio_vq *ctrlq, uint32_t subtype, uint8_t target, uint16_t lun,
			   uint64_t tag, virtio_req_cb cb, void *cb_arg);
/* Make `n` event buffers available on the eventq (vring 1) and notify. */
int virtio_scsi_event_post(struct virtio_vq *eventq, uint16_t n);
/* Take one delivered event (0) and re-post its buffer; -EAGAIN if none. */
int virtio_scsi_event_get(struct virtio_vq *eventq, struct virtio_scsi_event *ev);
/* virtio-scsi LUN encoding: {1, target, 0x40 | lun >> 8, lun & 0xff, 0...}. */
void virtio_scsi_lun_encode(uint8_t out[8], uint8_t target, uint16_t lun);

/*
 * Reap up to `max` completions of requests submitted with the calls above,
 * running their callbacks. Returns the number reaped (>= 0).
 */
int virtio_vq_process(struct virtio_vq *vq, uint32_t max);
/* Requests submitted and not yet completed. */
uint32_t virtio_vq_inflight(const struct virtio_vq *vq);

#endif /* VHOSTD_VIRTIO_H */

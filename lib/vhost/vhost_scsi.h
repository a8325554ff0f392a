/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-scsi personality (private to lib/vhost): one controller = one
 * virtio-scsi HBA with up to VHOST_SCSI_MAX_TARGETS targets, each a lib/scsi
 * device with up to SCSI_DEV_MAX_LUN LUNs backed by bdevs.
 *
 * Threads: the controller API below is called on the app thread (RPCs). The
 * target table, every scsi_dev and every session live on the controller's
 * thread; the API posts a message there and the callback runs there. A copy
 * of the table for vhost_get_controllers / save_config is kept under
 * g_vhost_mutex.
 *
 * The protocol helpers (vhost_scsi_proto.c) are pure and unit-tested.
 */
#ifndef VHOST_SCSI_H
#define VHOST_SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_scsi.h>

#define VHOST_SCSI_MAX_TARGETS	256
/* virtio-scsi default sizes (QEMU's config: cdb_size 32, sense_size 96). */
#define VHOST_SCSI_REQ_SIZE	((uint32_t)sizeof(struct virtio_scsi_cmd_req))	/* 51 */
#define VHOST_SCSI_RESP_SIZE	((uint32_t)sizeof(struct virtio_scsi_cmd_resp))	/* 108 */
/* Pieces the response may be split into by the driver. */
#define VHOST_SCSI_RESP_IOV_MAX	8
/* Events held per session while the guest has no eventq buffer. */
#define VHOST_SCSI_EVENTS_MAX	64

/* ---- controllers (app thread) ---- */

/* rc >= 0: success (the target number for add_target); < 0: -errno. */
typedef void (*vhost_scsi_done_cb)(void *cb_arg, int rc);

/* 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOMEM, -EIO. With delay, no socket until start. */
int vhost_scsi_controller_create(const char *name, const char *cpumask, bool delay);
/* Bind the socket of a delayed controller. Idempotent. 0, -ENODEV, -EINVAL (not scsi), -EIO. */
int vhost_scsi_controller_start(const char *name);
/*
 * Add a target (num 0..255, or -1 for the first free slot) with bdev `bdev_name` as
 * LUN `lun`. Returns -ENODEV (no controller), -EINVAL (not scsi, num/lun out of range,
 * no such bdev), or 0 and then cb(cb_arg, num or -EEXIST/-ENOSPC/-EBUSY/-errno) on the
 * controller thread.
 */
int vhost_scsi_controller_add_target(const char *name, int32_t num, const char *bdev_name,
				     uint32_t lun, vhost_scsi_done_cb cb, void *cb_arg);
/* Add a LUN to an existing target. As above; cb gets 0, -ENODEV (empty slot), -EEXIST, -EBUSY. */
int vhost_scsi_controller_add_lun(const char *name, uint32_t num, const char *bdev_name,
				  uint32_t lun, vhost_scsi_done_cb cb, void *cb_arg);
/*
 * Remove a target: new I/O to it fails at once (BAD_TARGET), outstanding I/O drains on
 * every session, the guests get TRANSPORT_RESET/REMOVED per LUN, then cb(cb_arg, 0).
 * -ENODEV, -EINVAL, or 0; cb gets -EBUSY for an empty slot or one being removed.
 */
int vhost_scsi_controller_remove_target(const char *name, uint32_t num, vhost_scsi_done_cb cb,
					void *cb_arg);
/* Remove one LUN (the last one takes the target with it). cb: 0, -ENODEV, -EBUSY. */
int vhost_scsi_controller_remove_lun(const char *name, uint32_t num, uint32_t lun,
				     vhost_scsi_done_cb cb, void *cb_arg);

/* ---- protocol helpers (pure, any thread) ---- */

/*
 * Decode a virtio-scsi LUN field: lun[0] = 1, lun[1] = target, lun[2..7] a SAM
 * single-level LUN (flat 0x40xx as Linux sends, or peripheral). 0,
 * -ENODEV (not a target address: BAD_TARGET), -EINVAL (bad LUN format: INCORRECT_LUN).
 */
int vhost_scsi_lun_decode(const uint8_t lun[8], uint8_t *target, uint32_t *lun_id);
/*
 * The LUN field of an event: {1, target, lun >> 8, lun & 0xff, 0...}, *without* the
 * 0x40 flat-addressing flag, because Linux's event handler uses the bytes as is.
 */
void vhost_scsi_event_lun(uint8_t out[8], uint8_t target, uint32_t lun_id);

/* A command chain split into its parts (all pointers into the caller's iovecs). */
struct vhost_scsi_cmd {
	struct virtio_scsi_cmd_req	req;		/* copy of the header */
	struct iovec			resp[VHOST_SCSI_RESP_IOV_MAX];
	uint16_t			resp_cnt;	/* 0: nowhere to answer */
	struct iovec			*data_out;
	uint16_t			data_out_cnt;
	uint64_t			data_out_len;
	struct iovec			*data_in;
	uint16_t			data_in_cnt;
	uint64_t			data_in_len;
};

/*
 * Parse a requestq chain: iov[0, out_cnt) device-readable (header, data-out),
 * the rest writable (response, data-in). The iovecs are trimmed in place.
 * 0; -EFAULT when there is no room for a whole response (resp_cnt = 0: complete
 * the request with nothing written); -EINVAL when the response can be written
 * but the request is malformed (short header): answer VIRTIO_SCSI_S_FAILURE.
 */
int vhost_scsi_parse_cmd(struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt,
			 struct vhost_scsi_cmd *cmd);

/*
 * Locate `len` bytes at the start of the writable iovecs iov[out_cnt, iovcnt)
 * (a control response) into resp[] (at most VHOST_SCSI_RESP_IOV_MAX pieces).
 * Returns the number of pieces, or 0 if the room is too small or too scattered.
 */
uint16_t vhost_scsi_locate_in(const struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt,
			      uint32_t len, struct iovec *resp);

/* Copy helpers over iovecs; return bytes copied. */
uint64_t vhost_scsi_iov_gather(const struct iovec *iov, uint16_t cnt, void *buf, uint64_t len);
uint64_t vhost_scsi_iov_scatter(const struct iovec *iov, uint16_t cnt, const void *buf,
				uint64_t len);

/*
 * Per-session event queue. push: queue an event; when full the event is dropped and
 * `missed` set, so that the next event delivered carries VIRTIO_SCSI_T_EVENTS_MISSED
 * (the guest then rescans the whole bus): nothing is lost silently.
 * peek/pop: the event to deliver next (with the MISSED flag folded in).
 */
struct vhost_scsi_evq {
	struct virtio_scsi_event	ev[VHOST_SCSI_EVENTS_MAX];
	uint32_t			head;
	uint32_t			cnt;
	bool				missed;
	uint64_t			dropped;	/* events replaced by EVENTS_MISSED */
};

void vhost_scsi_evq_push(struct vhost_scsi_evq *q, uint32_t event, uint8_t target,
			 uint32_t lun_id, uint32_t reason);
/* false if nothing is pending. */
bool vhost_scsi_evq_peek(const struct vhost_scsi_evq *q, struct virtio_scsi_event *ev);
void vhost_scsi_evq_pop(struct vhost_scsi_evq *q);

#endif /* VHOST_SCSI_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-blk personality: one controller = one bdev = one guest disk.
 *
 * Requests come from per-queue task pools indexed by the request id (head
 * index or buffer id < queue size), so nothing is allocated per I/O; guest
 * buffers go to the bdev as iovecs (zero copy). Parsing never writes into a
 * device-readable buffer: data for reads and the status byte live in the
 * device-writable part of the chain, which the virtqueue code verified.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/virtio_blk.h>

#include <json-c/json.h>

#include "vhost_internal.h"

#include "vhostd/bdev.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/util.h"

VHD_LOG_REGISTER_COMPONENT(vhost_blk)

/* seg_max (126, SPDK and QSD) + header + status + room for region splits. */
#define BLK_SEG_MAX		126
#define BLK_IOV_MAX		(BLK_SEG_MAX + 4)
#define BLK_SIZE_MAX		131072
#define BLK_MAX_DISCARD_SECTORS	32768
#define BLK_MAX_WZ_SECTORS	32768
#define BLK_OUTHDR_SIZE		16u

struct blk_dev {
	struct vhost_dev	vdev;		/* first: VHD_CONTAINER_OF */
	char			*bdev_name;
	struct bdev		*bdev;		/* NULL once removed (g_vhost_mutex) */
	struct bdev_desc	*desc;
	bool			readonly;
	bool			packed_ring;
	bool			removed;	/* set by the app thread, read by the controller thread */
	bool			config_wce;	/* VIRTIO_BLK_F_CONFIG_WCE offered (bdev flushes) */
	bool			write_cache;	/* the bdev has a volatile write cache */
	/*
	 * Config `wce` (1 writeback, 0 writethrough), shared by the sessions: written
	 * by set_config on vhost-events, read relaxed by the queue threads when they
	 * submit a write. A write sampled in one mode completes in that mode (the
	 * spec leaves a change while a write is in flight undefined).
	 */
	uint8_t			wce;
	uint32_t		block_size;
	struct poller		*remove_poller;	/* controller thread */
	uint16_t		remove_next;	/* queue thread putting its channels */
	char			serial[VIRTIO_BLK_ID_BYTES];
};

/* Per session and queue thread (vhost_qgroup.priv): that thread's bdev channel. */
struct blk_session {
	struct io_channel	*ch;
};

struct blk_task;

struct blk_vq {
	struct blk_task		*tasks;
	struct iovec		*spare;
	uint16_t		size;
};

struct blk_task {
	struct vhost_session_vq		*svq;
	struct vhost_vq_elem		elem;
	struct iovec			*iov;
	struct vhost_blk_req		req;
	uint32_t			used_len;
	bool				busy;
	struct bdev_io_wait_entry	wait;
};

static inline struct blk_dev *
to_blk(struct vhost_dev *vdev)
{
	return VHD_CONTAINER_OF(vdev, struct blk_dev, vdev);
}

/* ---- request parsing (pure; unit-tested) ------------------------------------------ */

static uint64_t
iov_gather(const struct iovec *iov, uint16_t cnt, void *buf, uint64_t len)
{
	uint64_t done = 0;
	uint16_t i;

	for (i = 0; i < cnt && done < len; i++) {
		uint64_t n = VHD_MIN(len - done, iov[i].iov_len);

		memcpy((uint8_t *)buf + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static uint64_t
iov_scatter(struct iovec *iov, uint16_t cnt, const void *buf, uint64_t len)
{
	uint64_t done = 0;
	uint16_t i;

	for (i = 0; i < cnt && done < len; i++) {
		uint64_t n = VHD_MIN(len - done, iov[i].iov_len);

		memcpy(iov[i].iov_base, (const uint8_t *)buf + done, n);
		done += n;
	}
	return done;
}

static uint64_t
iov_total(const struct iovec *iov, uint16_t cnt)
{
	uint64_t n = 0;
	uint16_t i;

	for (i = 0; i < cnt; i++) {
		n += iov[i].iov_len;
	}
	return n;
}

/*
 * Split a chain into header, data and status. iov[0, out_cnt) is readable,
 * the rest writable. The iovecs are trimmed in place. req->status is set
 * whenever the chain has a writable byte, even if the request is invalid,
 * so that the caller can report VIRTIO_BLK_S_IOERR. 0 or -EINVAL.
 */
int
vhost_blk_parse(struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt, struct vhost_blk_req *req)
{
	struct virtio_blk_outhdr hdr;
	uint16_t first, end, i;
	uint64_t skip;

	memset(req, 0, sizeof(*req));
	if (out_cnt > iovcnt) {
		return -EINVAL;
	}
	/* Status: the last byte of the writable part. */
	end = iovcnt;
	while (end > out_cnt && iov[end - 1].iov_len == 0) {
		end--;
	}
	if (end == out_cnt) {
		return -EINVAL;
	}
	req->status = (uint8_t *)iov[end - 1].iov_base + iov[end - 1].iov_len - 1;
	iov[end - 1].iov_len--;
	if (iov[end - 1].iov_len == 0) {
		end--;
	}
	/* Header: the first 16 readable bytes, in as many iovecs as the driver used. */
	if (iov_gather(iov, out_cnt, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		return -EINVAL;
	}
	req->type = hdr.type & ~VIRTIO_BLK_T_BARRIER;
	req->sector = hdr.sector;
	skip = sizeof(hdr);
	first = 0;
	while (skip > 0) {
		uint64_t n = VHD_MIN(skip, iov[first].iov_len);

		iov[first].iov_base = (uint8_t *)iov[first].iov_base + n;
		iov[first].iov_len -= n;
		skip -= n;
		if (iov[first].iov_len == 0) {
			first++;
		}
	}
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (iov_total(&iov[first], (uint16_t)(out_cnt - VHD_MIN(first, out_cnt))) != 0) {
			return -EINVAL;	/* readable payload where the device must write */
		}
		req->data = &iov[out_cnt];
		req->data_cnt = end - out_cnt;
		req->data_readable = false;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (iov_total(&iov[out_cnt], end - out_cnt) != 0) {
			return -EINVAL;	/* writable payload where the device must read */
		}
		req->data = &iov[first];
		req->data_cnt = first < out_cnt ? out_cnt - first : 0;
		req->data_readable = true;
		break;
	default:
		req->data = &iov[first];
		req->data_cnt = 0;
		break;
	}
	for (i = 0; i < req->data_cnt; i++) {
		req->data_len += req->data[i].iov_len;
	}
	return 0;
}

/* ---- I/O -------------------------------------------------------------------------- */

static void
blk_task_finish(struct blk_task *task, uint8_t status)
{
	struct vhost_session_vq *svq = task->svq;

	if (task->req.status != NULL) {
		*task->req.status = status;
		if (task->req.type != VIRTIO_BLK_T_IN && task->req.type != VIRTIO_BLK_T_GET_ID) {
			task->used_len = 0;
		}
		if (status != VIRTIO_BLK_S_OK) {
			task->used_len = 0;
		}
		task->used_len += 1;
	} else {
		task->used_len = 0;
	}
	task->busy = false;
	vhost_vq_push(&svq->vq, &task->elem, task->used_len);
}

static void
blk_io_done(struct bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct blk_task *task = cb_arg;

	bdev_free_io(bdev_io);
	blk_task_finish(task, success ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
}

/* The bdev is out of I/O objects: run retry(task) when one frees. -ENOMEM (parked) or -EIO. */
static int
blk_task_wait(struct blk_task *task, void (*retry)(void *task))
{
	struct blk_dev *bdev_dev = to_blk(task->svq->session->vdev);
	struct blk_session *bs = task->svq->grp->priv;

	task->wait.bdev = bdev_dev->bdev;
	task->wait.cb_fn = retry;
	task->wait.cb_arg = task;
	return bdev_queue_io_wait(bdev_dev->bdev, bs->ch, &task->wait) == 0 ? -ENOMEM : -EIO;
}

/*
 * Writethrough emulation: a write completes to the guest only once a flush of the
 * bdev, on the same channel, has succeeded after it.
 */
static void
blk_task_flush(void *arg)
{
	struct blk_task *task = arg;
	struct blk_dev *bdev_dev = to_blk(task->svq->session->vdev);
	struct blk_session *bs = task->svq->grp->priv;
	int rc;

	rc = bdev_flush_blocks(bdev_dev->desc, bs->ch, 0, bdev_get_num_blocks(bdev_dev->bdev),
			       blk_io_done, task);
	if (rc == -ENOMEM) {
		rc = blk_task_wait(task, blk_task_flush);
	}
	if (rc != 0 && rc != -ENOMEM) {
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
	}
}

static void
blk_write_wt_done(struct bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct blk_task *task = cb_arg;

	bdev_free_io(bdev_io);
	if (!success) {
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
		return;
	}
	blk_task_flush(task);
}

/* Completion callback of a write: flush first when the guest chose writethrough. */
static inline bdev_io_completion_cb
blk_write_cb(const struct blk_dev *bdev_dev)
{
	if (VHD_UNLIKELY(__atomic_load_n(&bdev_dev->wce, __ATOMIC_RELAXED) == 0) &&
	    bdev_dev->write_cache) {
		return blk_write_wt_done;
	}
	return blk_io_done;
}

static int blk_task_dispatch(struct blk_task *task);

static void
blk_task_retry(void *arg)
{
	struct blk_task *task = arg;
	int rc = blk_task_dispatch(task);

	if (rc == -ENOMEM) {
		return;	/* parked again */
	}
	if (rc < 0) {
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
	} else if (rc > 0) {
		blk_task_finish(task, (uint8_t)(rc - 1));
	}
}

/* 0: submitted; >0: finished with status rc-1; -ENOMEM: parked; <0: I/O error. */
static int
blk_task_dispatch(struct blk_task *task)
{
	struct vhost_session *s = task->svq->session;
	struct blk_dev *bdev_dev = to_blk(s->vdev);
	struct blk_session *bs = task->svq->grp->priv;
	struct vhost_blk_req *req = &task->req;
	uint32_t bs_bytes = bdev_dev->block_size;
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t offset, lba;
	int rc;

	if (__atomic_load_n(&bdev_dev->removed, __ATOMIC_ACQUIRE) || bs->ch == NULL) {
		return 1 + VIRTIO_BLK_S_IOERR;
	}
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_OUT && bdev_dev->readonly) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		if (req->sector > UINT64_MAX / 512) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		offset = req->sector * 512;
		if (offset % bs_bytes != 0 || req->data_len % bs_bytes != 0) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		if (req->data_len == 0) {
			return 1 + VIRTIO_BLK_S_OK;
		}
		lba = offset / bs_bytes;
		if (req->type == VIRTIO_BLK_T_IN) {
			task->used_len = (uint32_t)req->data_len;
			rc = bdev_readv_blocks(bdev_dev->desc, bs->ch, req->data, req->data_cnt, lba,
					       req->data_len / bs_bytes, blk_io_done, task);
		} else {
			rc = bdev_writev_blocks(bdev_dev->desc, bs->ch, req->data, req->data_cnt,
						lba, req->data_len / bs_bytes, blk_write_cb(bdev_dev),
						task);
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_FLUSH)) {
			return 1 + VIRTIO_BLK_S_OK;
		}
		rc = bdev_flush_blocks(bdev_dev->desc, bs->ch, 0,
				       bdev_get_num_blocks(bdev_dev->bdev), blk_io_done, task);
		break;
	case VIRTIO_BLK_T_GET_ID:
		task->used_len = (uint32_t)iov_scatter(req->data, req->data_cnt, bdev_dev->serial,
						       VHD_MIN(req->data_len,
							       (uint64_t)VIRTIO_BLK_ID_BYTES));
		return 1 + VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (bdev_dev->readonly) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		/* We advertise max_*_seg = 1. */
		if (req->data_len != sizeof(seg) ||
		    iov_gather(req->data, req->data_cnt, &seg, sizeof(seg)) != sizeof(seg)) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		if (seg.sector > UINT64_MAX / 512 || (seg.sector * 512) % bs_bytes != 0 ||
		    ((uint64_t)seg.num_sectors * 512) % bs_bytes != 0) {
			return 1 + VIRTIO_BLK_S_IOERR;
		}
		lba = seg.sector * 512 / bs_bytes;
		if (seg.num_sectors == 0) {
			return 1 + VIRTIO_BLK_S_OK;
		}
		if (req->type == VIRTIO_BLK_T_DISCARD) {
			if (seg.flags != 0) {
				return 1 + VIRTIO_BLK_S_UNSUPP;
			}
			if (!bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_UNMAP)) {
				return 1 + VIRTIO_BLK_S_UNSUPP;
			}
			rc = bdev_unmap_blocks(bdev_dev->desc, bs->ch, lba,
					       (uint64_t)seg.num_sectors * 512 / bs_bytes,
					       blk_io_done, task);
		} else {
			if (seg.flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) {
				return 1 + VIRTIO_BLK_S_UNSUPP;
			}
			if ((seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) &&
			    bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_UNMAP) &&
			    bdev_unmap_reads_zeroes(bdev_dev->bdev)) {
				rc = bdev_unmap_blocks(bdev_dev->desc, bs->ch, lba,
						       (uint64_t)seg.num_sectors * 512 / bs_bytes,
						       blk_write_cb(bdev_dev), task);
			} else if (bdev_io_type_supported(bdev_dev->bdev,
							  BDEV_IO_TYPE_WRITE_ZEROES)) {
				rc = bdev_write_zeroes_blocks(bdev_dev->desc, bs->ch, lba,
							      (uint64_t)seg.num_sectors * 512 /
								      bs_bytes,
							      blk_write_cb(bdev_dev), task);
			} else {
				return 1 + VIRTIO_BLK_S_UNSUPP;
			}
		}
		break;
	default:
		return 1 + VIRTIO_BLK_S_UNSUPP;
	}
	if (rc == -ENOMEM) {
		return blk_task_wait(task, blk_task_retry);
	}
	return rc;
}

static void
blk_task_start(struct blk_task *task, int pop_rc)
{
	int rc;

	task->used_len = 0;
	if (pop_rc < 0) {
		/* Malformed chain: complete with nothing written. */
		memset(&task->req, 0, sizeof(task->req));
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
		return;
	}
	rc = vhost_blk_parse(task->elem.iov, task->elem.iovcnt, task->elem.out_cnt, &task->req);
	if (rc != 0) {
		VHD_ERRLOG_RATELIMIT("%s: malformed virtio-blk request\n",
				     task->svq->session->name);
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
		return;
	}
	rc = blk_task_dispatch(task);
	if (rc == -ENOMEM || rc == 0) {
		return;
	}
	if (rc > 0) {
		blk_task_finish(task, (uint8_t)(rc - 1));
	} else {
		blk_task_finish(task, VIRTIO_BLK_S_IOERR);
	}
}

/* Take a popped element into its task; false if the guest reused an id in flight. */
static bool
blk_task_take(struct vhost_session_vq *svq, struct blk_vq *bvq, struct vhost_vq_elem *elem,
	      struct blk_task **out)
{
	struct blk_task *task = &bvq->tasks[elem->id];
	struct iovec *tmp;

	if (task->busy) {
		VHD_ERRLOG_RATELIMIT("%s: queue %u: guest reused request id %u while in flight\n",
				     svq->session->name, svq->qid, elem->id);
		svq->vq.broken = true;
		if (svq->vq.inflight_cnt > 0) {
			svq->vq.inflight_cnt--;
		}
		return false;
	}
	tmp = task->iov;
	task->iov = bvq->spare;
	bvq->spare = tmp;
	task->elem = *elem;
	task->elem.iov = task->iov;
	task->busy = true;
	*out = task;
	return true;
}

/* Requests popped before the first is started: their header reads overlap. */
#define BLK_POP_BATCH 16

static int
blk_vq_poll(struct vhost_session *s, struct vhost_session_vq *svq, uint32_t budget)
{
	struct blk_vq *bvq = svq->priv;
	struct blk_task *batch[BLK_POP_BATCH];
	int batch_rc[BLK_POP_BATCH];
	struct vhost_vq_elem elem;
	struct blk_task *task;
	uint32_t n = 0, nb, i;
	bool stop = false;
	int rc;

	while (n < budget && !stop) {
		/*
		 * Pop a batch, then start it: each pop prefetches the header the
		 * guest just wrote (a cache line of the guest's core), so the misses
		 * of a batch overlap instead of stalling one request at a time.
		 */
		for (nb = 0; nb < BLK_POP_BATCH && n < budget; nb++) {
			elem.iov = bvq->spare;
			rc = vhost_vq_pop(&svq->vq, &elem, BLK_IOV_MAX);
			if (rc == 0 || rc == -EPROTO) {
				stop = true;
				break;
			}
			n++;
			if (!blk_task_take(svq, bvq, &elem, &task)) {
				stop = true;
				break;
			}
			if (rc == 1 && task->elem.iovcnt > 0) {
				__builtin_prefetch(task->elem.iov[0].iov_base);
			}
			batch[nb] = task;
			batch_rc[nb] = rc == 1 ? 0 : rc;
		}
		for (i = 0; i < nb; i++) {
			blk_task_start(batch[i], batch_rc[i]);
		}
	}
	return (int)n;
}

static int
blk_vq_resubmit(struct vhost_session *s, struct vhost_session_vq *svq, uint16_t head)
{
	struct blk_vq *bvq = svq->priv;
	struct vhost_vq_elem elem;
	struct blk_task *task;
	int rc;

	elem.iov = bvq->spare;
	/* Split: head is the descriptor head; packed: the inflight entry. */
	if (svq->vq.packed) {
		rc = vhost_vq_pop_inflight_packed(&svq->vq, head, &elem, BLK_IOV_MAX);
	} else {
		rc = vhost_vq_pop_head(&svq->vq, head, &elem, BLK_IOV_MAX);
	}
	if (rc == 0 || rc == -EPROTO || rc == -EINVAL) {
		return rc;
	}
	if (!blk_task_take(svq, bvq, &elem, &task)) {
		return -EPROTO;
	}
	blk_task_start(task, rc == 1 ? 0 : rc);
	return 0;
}

static int
blk_vq_start(struct vhost_session *s, struct vhost_session_vq *svq)
{
	struct blk_vq *bvq = calloc(1, sizeof(*bvq));
	uint32_t i;

	if (bvq == NULL) {
		return -ENOMEM;
	}
	bvq->size = svq->vq.size;
	bvq->tasks = calloc(bvq->size, sizeof(*bvq->tasks));
	bvq->spare = calloc((size_t)(bvq->size + 1) * BLK_IOV_MAX, sizeof(struct iovec));
	if (bvq->tasks == NULL || bvq->spare == NULL) {
		free(bvq->tasks);
		free(bvq->spare);
		free(bvq);
		return -ENOMEM;
	}
	/* One block: tasks own slices 1..size, the spare starts with slice 0. */
	for (i = 0; i < bvq->size; i++) {
		bvq->tasks[i].svq = svq;
		bvq->tasks[i].iov = bvq->spare + (size_t)(i + 1) * BLK_IOV_MAX;
	}
	svq->priv = bvq;
	return 0;
}

static void
blk_vq_stop(struct vhost_session *s, struct vhost_session_vq *svq)
{
	struct blk_vq *bvq = svq->priv;
	struct iovec *base;
	uint32_t i;

	if (bvq == NULL) {
		return;
	}
	/* The iovec arrays were swapped around: free the one block they came from. */
	base = bvq->spare;
	for (i = 0; i < bvq->size; i++) {
		if (bvq->tasks[i].iov < base) {
			base = bvq->tasks[i].iov;
		}
	}
	free(base);
	free(bvq->tasks);
	free(bvq);
	svq->priv = NULL;
}

static int
blk_grp_start(struct vhost_session *s, struct vhost_qgroup *grp)
{
	struct blk_dev *bdev_dev = to_blk(s->vdev);
	struct blk_session *bs = calloc(1, sizeof(*bs));

	if (bs == NULL) {
		return -ENOMEM;
	}
	if (!__atomic_load_n(&bdev_dev->removed, __ATOMIC_ACQUIRE) && bdev_dev->desc != NULL) {
		bs->ch = bdev_get_io_channel(bdev_dev->desc);
		if (bs->ch == NULL) {
			free(bs);
			return -ENOMEM;
		}
	}
	grp->priv = bs;
	return 0;
}

static void
blk_grp_stop(struct vhost_session *s, struct vhost_qgroup *grp)
{
	struct blk_session *bs = grp->priv;

	if (bs == NULL) {
		return;
	}
	if (bs->ch != NULL) {
		io_channel_put(bs->ch);
	}
	free(bs);
	grp->priv = NULL;
}

/* ---- config space (vhost-events thread) ------------------------------------------- */

static int
blk_get_config(struct vhost_dev *vdev, uint8_t *config, uint32_t len)
{
	struct blk_dev *bdev_dev = to_blk(vdev);
	struct virtio_blk_config cfg;
	uint32_t blk, phys;
	uint64_t max_unmap;

	memset(&cfg, 0, sizeof(cfg));
	pthread_mutex_lock(&g_vhost_mutex);
	if (bdev_dev->bdev != NULL && !bdev_dev->removed) {
		struct bdev *bdev = bdev_dev->bdev;

		blk = bdev_get_block_size(bdev);
		phys = bdev_get_physical_block_size(bdev);
		cfg.capacity = bdev_get_num_blocks(bdev) * blk / 512;
		cfg.size_max = BLK_SIZE_MAX;
		cfg.seg_max = BLK_SEG_MAX;
		cfg.blk_size = blk;
		cfg.physical_block_exp = 0;
		while (phys > blk && (blk << (cfg.physical_block_exp + 1)) <= phys &&
		       cfg.physical_block_exp < 15) {
			cfg.physical_block_exp++;
		}
		cfg.min_io_size = 1;
		cfg.opt_io_size = VHD_MAX(bdev_get_optimal_io_boundary(bdev), 1u);
		cfg.wce = __atomic_load_n(&bdev_dev->wce, __ATOMIC_RELAXED);
		cfg.num_queues = VHOST_MAX_VQS;
		max_unmap = bdev_get_max_unmap_blocks(bdev) * blk / 512;
		cfg.max_discard_sectors = (max_unmap == 0 || max_unmap > BLK_MAX_DISCARD_SECTORS) ?
						  BLK_MAX_DISCARD_SECTORS : (uint32_t)max_unmap;
		cfg.max_discard_seg = 1;
		cfg.discard_sector_alignment = blk / 512;
		max_unmap = bdev_get_max_write_zeroes_blocks(bdev) * blk / 512;
		cfg.max_write_zeroes_sectors = (max_unmap == 0 || max_unmap > BLK_MAX_WZ_SECTORS) ?
						       BLK_MAX_WZ_SECTORS : (uint32_t)max_unmap;
		cfg.max_write_zeroes_seg = 1;
		cfg.write_zeroes_may_unmap = bdev_unmap_reads_zeroes(bdev) ? 1 : 0;
	}
	/* A removed bdev answers an all-zero config: an error would make QEMU exit. */
	pthread_mutex_unlock(&g_vhost_mutex);
	memcpy(config, &cfg, VHD_MIN((size_t)len, sizeof(cfg)));
	return 0;
}

/*
 * Only `wce` is writable (with CONFIG_WCE): one byte, 0 or 1. Anything else is
 * refused and changes nothing (QEMU forwards exactly that byte; with REPLY_ACK the
 * frontend gets a nack, without it rte_vhost drops the connection).
 */
static int
blk_set_config(struct vhost_dev *vdev, const uint8_t *data, uint32_t offset, uint32_t size,
	       uint32_t flags)
{
	struct blk_dev *bdev_dev = to_blk(vdev);

	if (!bdev_dev->config_wce) {
		VHD_ERRLOG_RATELIMIT("%s: SET_CONFIG without CONFIG_WCE refused\n", vdev->name);
		return -ENOTSUP;
	}
	if (offset != offsetof(struct virtio_blk_config, wce) || size != 1 || data[0] > 1) {
		VHD_ERRLOG_RATELIMIT("%s: SET_CONFIG offset %u size %u value %u refused\n",
				     vdev->name, offset, size, size > 0 ? data[0] : 0u);
		return -EINVAL;
	}
	/* A guest may toggle its cache_type in a loop: rate-limited like an error. */
	if (__atomic_exchange_n(&bdev_dev->wce, data[0], __ATOMIC_RELAXED) != data[0]) {
		VHD_NOTICELOG_RATELIMIT("%s: guest set the write cache to %s\n", vdev->name,
					data[0] ? "writeback" : "writethrough");
	}
	return 0;
}

/* ---- bdev events (app thread) ----------------------------------------------------- */

static void
blk_remove_close_msg(void *ctx)
{
	struct blk_dev *bdev_dev = ctx;
	struct bdev_desc *desc;

	pthread_mutex_lock(&g_vhost_mutex);
	desc = bdev_dev->desc;
	bdev_dev->desc = NULL;
	bdev_dev->bdev = NULL;
	pthread_mutex_unlock(&g_vhost_mutex);
	if (desc != NULL) {
		bdev_close(desc);
	}
	VHD_NOTICELOG("%s: bdev %s released after hot-remove\n", bdev_dev->vdev.name,
		      bdev_dev->bdev_name);
}

struct blk_drain_ctx {
	bool busy;
};

static void
blk_session_check_drained(struct vhost_session *s, void *ctx)
{
	struct blk_drain_ctx *d = ctx;

	if (vhost_session_inflight(s) > 0) {
		d->busy = true;
	}
}

/*
 * Queue thread qthreads[remove_next]: put this thread's channel of every session,
 * then pass on to the next queue thread; the last one hands over to the app thread.
 * (g_vhost_mutex keeps the sessions listed; a group's channel is only touched on its
 * own thread, and grp_start takes none once `removed` is set.)
 */
static void
blk_session_put_channel(struct vhost_session *s, void *ctx)
{
	uint16_t k = *(uint16_t *)ctx;
	struct blk_session *bs = k < s->ngrps ? s->grps[k].priv : NULL;

	if (bs != NULL && bs->ch != NULL) {
		io_channel_put(bs->ch);
		bs->ch = NULL;
	}
}

static void
blk_remove_put_msg(void *ctx)
{
	struct blk_dev *bdev_dev = ctx;
	struct vhost_dev *vdev = &bdev_dev->vdev;
	uint16_t k = bdev_dev->remove_next;

	vhost_dev_foreach_session(vdev, blk_session_put_channel, &k);
	bdev_dev->remove_next++;
	if (bdev_dev->remove_next < vdev->nqthreads) {
		if (thread_send_msg(vdev->qthreads[bdev_dev->remove_next], blk_remove_put_msg,
				    bdev_dev) == 0) {
			return;
		}
		VHD_ERRLOG("%s: cannot reach a queue thread after hot-remove\n", vdev->name);
	}
	thread_send_msg(thread_get_app(), blk_remove_close_msg, bdev_dev);
}

static int
blk_remove_poll(void *ctx)
{
	struct blk_dev *bdev_dev = ctx;
	struct blk_drain_ctx d = {.busy = false};

	vhost_dev_foreach_session(&bdev_dev->vdev, blk_session_check_drained, &d);
	if (d.busy) {
		return POLLER_IDLE;
	}
	poller_unregister(&bdev_dev->remove_poller);
	bdev_dev->remove_next = 0;
	blk_remove_put_msg(bdev_dev);	/* qthreads[0] is this thread */
	return POLLER_BUSY;
}

static void
blk_remove_msg(void *ctx)
{
	struct blk_dev *bdev_dev = ctx;

	bdev_dev->remove_poller = poller_register(blk_remove_poll, bdev_dev, 1000, "blk_remove");
	if (bdev_dev->remove_poller == NULL) {
		VHD_ERRLOG("%s: cannot wait for I/O to drain after hot-remove\n",
			   bdev_dev->vdev.name);
	}
}

static void
blk_bdev_event(enum bdev_event_type type, struct bdev *bdev, void *event_ctx)
{
	struct blk_dev *bdev_dev = event_ctx;

	switch (type) {
	case BDEV_EVENT_REMOVE:
		VHD_WARNLOG("%s: bdev %s is being removed; I/O now fails\n", bdev_dev->vdev.name,
			    bdev_dev->bdev_name);
		__atomic_store_n(&bdev_dev->removed, true, __ATOMIC_RELEASE);
		if (thread_send_msg(bdev_dev->vdev.thread, blk_remove_msg, bdev_dev) != 0) {
			VHD_ERRLOG("%s: cannot reach the controller thread\n", bdev_dev->vdev.name);
		}
		break;
	case BDEV_EVENT_RESIZE:
		VHD_NOTICELOG("%s: bdev %s resized to %llu blocks; notifying guests\n",
			      bdev_dev->vdev.name, bdev_dev->bdev_name,
			      (unsigned long long)bdev_get_num_blocks(bdev));
		vhost_dev_signal_config_change(&bdev_dev->vdev);
		break;
	}
}

/* ---- RPC-facing --------------------------------------------------------------------- */

static void
blk_dump_info_json(struct vhost_dev *vdev, struct json_object *backend)
{
	struct blk_dev *bdev_dev = to_blk(vdev);
	struct json_object *block = json_object_new_object();

	json_object_object_add(block, "readonly", json_object_new_boolean(bdev_dev->readonly));
	json_object_object_add(block, "bdev", bdev_dev->bdev != NULL ?
				json_object_new_string(bdev_get_name(bdev_dev->bdev)) : NULL);
	json_object_object_add(block, "transport", json_object_new_string("vhost_user_blk"));
	json_object_object_add(backend, "block", block);
}

static void
blk_write_config_json(struct vhost_dev *vdev, struct json_object *config)
{
	struct blk_dev *bdev_dev = to_blk(vdev);
	struct json_object *params = json_object_new_object();
	char mask[CPUSET_MAX_CPUS / 4 + 3];

	json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
	json_object_object_add(params, "dev_name", json_object_new_string(bdev_dev->bdev_name));
	json_object_object_add(params, "cpumask",
			       json_object_new_string(cpuset_fmt_hex(&vdev->cpumask, mask,
								     sizeof(mask))));
	json_object_object_add(params, "readonly", json_object_new_boolean(bdev_dev->readonly));
	json_object_object_add(params, "packed_ring",
			       json_object_new_boolean(bdev_dev->packed_ring));
	rpc_config_add(config, "vhost_create_blk_controller", params);

	if (vdev->coal_delay_base_us != VHOST_COALESCING_DELAY_BASE_US ||
	    vdev->coal_iops_threshold != VHOST_COALESCING_IOPS_THRESHOLD) {
		params = json_object_new_object();
		json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
		json_object_object_add(params, "delay_base_us",
				       json_object_new_int64(vdev->coal_delay_base_us));
		json_object_object_add(params, "iops_threshold",
				       json_object_new_int64(vdev->coal_iops_threshold));
		rpc_config_add(config, "vhost_controller_set_coalescing", params);
	}
}

static void
blk_destroy(struct vhost_dev *vdev)
{
	struct blk_dev *bdev_dev = to_blk(vdev);

	if (bdev_dev->desc != NULL) {
		bdev_close(bdev_dev->desc);
	}
	free(bdev_dev->bdev_name);
	free(bdev_dev);
}

static const struct vhost_dev_ops g_blk_ops = {
	.type = "blk",
	.spread_queues = true,
	.grp_start = blk_grp_start,
	.grp_stop = blk_grp_stop,
	.vq_start = blk_vq_start,
	.vq_stop = blk_vq_stop,
	.vq_poll = blk_vq_poll,
	.vq_resubmit = blk_vq_resubmit,
	.get_config = blk_get_config,
	.set_config = blk_set_config,
	.dump_info_json = blk_dump_info_json,
	.write_config_json = blk_write_config_json,
	.destroy = blk_destroy,
};

int
vhost_blk_controller_create(const char *name, const char *dev_name, const char *cpumask,
			    bool readonly, bool packed_ring)
{
	struct blk_dev *bdev_dev;
	uint64_t features;
	size_t n;
	int rc;

	rc = vhost_name_check(name);
	if (rc != 0) {
		return rc;
	}
	if (dev_name == NULL) {
		return -EINVAL;
	}
	bdev_dev = calloc(1, sizeof(*bdev_dev));
	if (bdev_dev == NULL) {
		return -ENOMEM;
	}
	bdev_dev->bdev_name = strdup(dev_name);
	if (bdev_dev->bdev_name == NULL) {
		free(bdev_dev);
		return -ENOMEM;
	}
	bdev_dev->readonly = readonly;
	bdev_dev->packed_ring = packed_ring;
	rc = bdev_open_ext(dev_name, !readonly, blk_bdev_event, bdev_dev, &bdev_dev->desc);
	if (rc != 0) {
		VHD_ERRLOG("%s: cannot open bdev %s: %s\n", name, dev_name, strerror(-rc));
		free(bdev_dev->bdev_name);
		free(bdev_dev);
		return rc == -EBUSY ? -EBUSY : -ENODEV;
	}
	bdev_dev->bdev = bdev_desc_get_bdev(bdev_dev->desc);
	bdev_dev->block_size = bdev_get_block_size(bdev_dev->bdev);
	if (bdev_dev->block_size < 512 || bdev_dev->block_size % 512 != 0) {
		VHD_ERRLOG("%s: bdev %s block size %u is not a multiple of 512\n", name, dev_name,
			   bdev_dev->block_size);
		rc = -EINVAL;
		goto err;
	}
	n = strlen(bdev_get_name(bdev_dev->bdev));
	memcpy(bdev_dev->serial, bdev_get_name(bdev_dev->bdev),
	       VHD_MIN(n, sizeof(bdev_dev->serial)));

	features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		   (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |
		   (1ull << VIRTIO_BLK_F_MQ);
	bdev_dev->write_cache = bdev_has_write_cache(bdev_dev->bdev);
	bdev_dev->wce = bdev_dev->write_cache ? 1 : 0;
	if (bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_FLUSH)) {
		/* The spec requires FLUSH with CONFIG_WCE. */
		bdev_dev->config_wce = true;
		features |= (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_CONFIG_WCE);
	}
	if (!readonly && bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_UNMAP)) {
		features |= 1ull << VIRTIO_BLK_F_DISCARD;
	}
	if (!readonly && (bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_WRITE_ZEROES) ||
			  bdev_io_type_supported(bdev_dev->bdev, BDEV_IO_TYPE_UNMAP))) {
		features |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	}
	if (readonly) {
		features |= 1ull << VIRTIO_BLK_F_RO;
	}
	if (packed_ring) {
		features |= 1ull << VHOST_F_RING_PACKED;
	}
	rc = vhost_dev_register(&bdev_dev->vdev, name, cpumask, &g_blk_ops, features,
				(1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
					(1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	if (rc != 0) {
		goto err;
	}
	return 0;
err:
	bdev_close(bdev_dev->desc);
	free(bdev_dev->bdev_name);
	free(bdev_dev);
	return rc;
}

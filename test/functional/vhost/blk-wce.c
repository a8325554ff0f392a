/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blk-wce: the guest's write cache switch (VIRTIO_BLK_F_CONFIG_WCE) as QEMU
 * forwards it: a 1-byte VHOST_USER_SET_CONFIG at the offset of `wce`, with
 * REPLY_ACK so a refusal comes back as a nack.
 *
 *   blk-wce SOCK [--queues N] [--hostile] [--set 0|1] [--refused]
 *           [--writes N] [--zeroes N]
 *
 * In this order: connect (N queues), read config `wce`; with --hostile send
 * SET_CONFIGs that must be nacked (wrong offset, size 0 and 2, values 2 and
 * 0xff) and check `wce` did not change and the connection still answers; with
 * --set write `wce` (must be acked, or nacked with --refused) and read it back;
 * then N 4 KiB writes and N write-zeroes, one at a time, round-robin over the
 * queues, each of which must complete OK. Prints
 *   "offered_wce B negotiated_wce B wce_before V wce_after V writes N zeroes N"
 * and exits 0 if every check held, 1 otherwise (2 usage, 3 connection failure).
 */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "vhostd/virtio.h"

#define WCE_OFF ((uint32_t)offsetof(struct virtio_blk_config, wce))

struct wce_cfg_msg {
	uint32_t	offset;
	uint32_t	size;
	uint32_t	flags;
	uint8_t		region[256];
};

static int
wce_get(struct virtio_dev *dev, uint8_t *wce)
{
	struct virtio_blk_config cfg;
	int rc;

	rc = virtio_dev_get_config(dev, &cfg, 0, sizeof(cfg));
	if (rc == 0) {
		*wce = cfg.wce;
	}
	return rc;
}

/* SET_CONFIG of `size` bytes of `value` at `offset`: 0 (acked), -EIO (nacked), or -errno. */
static int
wce_set_raw(struct virtio_dev *dev, uint32_t offset, uint32_t size, uint8_t value)
{
	struct wce_cfg_msg m = {.offset = offset, .size = size, .flags = 0};

	memset(m.region, value, sizeof(m.region));
	return virtio_dev_msg(dev, VHOST_USER_SET_CONFIG, &m, 12 + size, NULL, 0, true, NULL, NULL,
			      NULL);
}

static void
wce_done(void *cb_arg, const struct virtio_req_result *res)
{
	*(int *)cb_arg = res->status;
}

/* Notify and wait for the request behind `status`: its virtio-blk status or -errno. */
static int
wce_wait(struct virtio_vq *vq, int *status)
{
	int rc;

	virtio_vq_notify(vq);
	while (*status == -1000) {
		if (virtio_vq_process(vq, 1) > 0) {
			continue;
		}
		rc = virtio_vq_wait(vq, 5000);
		if (rc != 0) {
			return rc;
		}
	}
	return *status;
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
	bool hostile = false, refused = false, ok = true;
	int set = -1, writes = 0, zeroes = 0, i, rc;
	uint8_t before = 0xee, after = 0xee, v;
	struct virtio_dev *dev;
	void *buf;

	if (argc < 2) {
		goto usage;
	}
	opts.socket_path = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--hostile") == 0) {
			hostile = true;
		} else if (strcmp(argv[i], "--refused") == 0) {
			refused = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--queues") == 0) {
			opts.num_queues = (uint16_t)atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--set") == 0) {
			set = atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--writes") == 0) {
			writes = atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--zeroes") == 0) {
			zeroes = atoi(argv[++i]);
		} else {
			goto usage;
		}
	}
	rc = virtio_dev_open(&opts, &dev);
	if (rc != 0) {
		fprintf(stderr, "blk-wce: cannot connect to %s: %s\n", argv[1], strerror(-rc));
		return 3;
	}
	if (!(virtio_dev_protocol_features(dev) & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
		fprintf(stderr, "blk-wce: REPLY_ACK not negotiated\n");
		return 1;
	}
	rc = wce_get(dev, &before);
	if (rc != 0) {
		fprintf(stderr, "blk-wce: GET_CONFIG: %s\n", strerror(-rc));
		return 1;
	}
	if (hostile) {
		static const struct {
			uint32_t	offset, size;
			uint8_t		value;
		} bad[] = {
			{WCE_OFF + 1, 1, 0}, {WCE_OFF - 1, 1, 0}, {0, 1, 0}, {WCE_OFF, 0, 0},
			{WCE_OFF, 2, 0}, {WCE_OFF, 1, 2}, {WCE_OFF, 1, 0xff},
			{0, sizeof(struct virtio_blk_config), 0},
		};
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			/* Flip the mode if it were accepted, so a wrong accept shows. */
			uint8_t val = bad[k].value > 1 ? bad[k].value : !before;

			rc = wce_set_raw(dev, bad[k].offset, bad[k].size, val);
			if (rc != -EIO) {
				fprintf(stderr, "blk-wce: SET_CONFIG offset %u size %u value %u: %d, "
					"expected a nack\n", bad[k].offset, bad[k].size, val, rc);
				ok = false;
			}
			if (wce_get(dev, &v) != 0 || v != before) {
				fprintf(stderr, "blk-wce: wce %u after a refused SET_CONFIG (was %u)\n",
					v, before);
				ok = false;
			}
		}
	}
	if (set >= 0) {
		rc = wce_set_raw(dev, WCE_OFF, 1, (uint8_t)set);
		if (refused ? rc != -EIO : rc != 0) {
			fprintf(stderr, "blk-wce: SET_CONFIG wce=%d: %d (%s expected)\n", set, rc,
				refused ? "a nack" : "an ack");
			ok = false;
		}
	}
	rc = wce_get(dev, &after);
	if (rc != 0) {
		fprintf(stderr, "blk-wce: GET_CONFIG: %s\n", strerror(-rc));
		return 1;
	}
	buf = virtio_mem_alloc(virtio_dev_mem(dev), 4096, 4096);
	if (buf == NULL) {
		return 1;
	}
	memset(buf, 0x5a, 4096);
	for (i = 0; i < writes + zeroes; i++) {
		struct virtio_vq *vq = virtio_dev_vq(dev, (uint16_t)(i % virtio_dev_num_queues(dev)));
		struct iovec iov = {.iov_base = buf, .iov_len = 4096};
		int status = -1000;

		if (i < writes) {
			rc = virtio_blk_submit(vq, VIRTIO_BLK_T_OUT, (uint64_t)i * 8, &iov, 1,
					       wce_done, &status);
		} else {
			rc = virtio_blk_submit_range(vq, VIRTIO_BLK_T_WRITE_ZEROES,
						     (uint64_t)i * 8, 8, 0, wce_done, &status);
		}
		if (rc == 0) {
			rc = wce_wait(vq, &status);
		}
		if (rc != VIRTIO_BLK_S_OK) {
			fprintf(stderr, "blk-wce: %s %d: %d\n", i < writes ? "write" : "write zeroes",
				i, rc);
			ok = false;
			break;
		}
	}
	printf("offered_wce %d negotiated_wce %d wce_before %u wce_after %u writes %d zeroes %d\n",
	       (int)((virtio_dev_offered_features(dev) >> VIRTIO_BLK_F_CONFIG_WCE) & 1),
	       virtio_dev_has_feature(dev, VIRTIO_BLK_F_CONFIG_WCE), before, after, writes, zeroes);
	virtio_dev_destroy(dev);
	return ok ? 0 : 1;
usage:
	fprintf(stderr, "usage: blk-wce SOCK [--queues N] [--hostile] [--set 0|1] [--refused] "
		"[--writes N] [--zeroes N]\n");
	return 2;
}

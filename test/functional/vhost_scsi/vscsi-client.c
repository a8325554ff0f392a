/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scriptable virtio-scsi initiator for the vhost-scsi functional tests,
 * built on lib/virtio. It connects to a vhost-user-scsi socket with
 * controlq, eventq and two request queues (2: lib/virtio's request API,
 * 3: hand-made chains for hostile or unusual layouts), then reads one
 * command per line on stdin and answers one line on stdout:
 *
 *   post N                          make N event buffers available   -> ok
 *   event MS                        next event within MS ms          -> event E T L R | none
 *   send T L CDBHEX INLEN [OUTHEX]  queue a command on queue 2       -> sent ID
 *   reap MS                         next completion within MS ms     -> done ID <resp...> | none
 *   cmd T L CDBHEX INLEN [OUTHEX]   send + reap 5000                 -> done ID <resp...>
 *   raw LUNHEX CDBHEX INLEN [OUTHEX] [HDRLEN]
 *                                   a chain built by hand on queue 3 (header cut to HDRLEN)
 *                                   -> done 0 <resp...> | used 0
 *   tmf SUB T L TAG                 task management on the controlq  -> tmf RESPONSE
 *   an TYPE T                       AN query/subscribe (raw)         -> an RESPONSE EVENT_ACTUAL
 *   restart                         stop the device (GET_VRING_BASE) and start it again on
 *                                   the same connection                -> ok | error
 *   stop / start                    the two halves of restart          -> ok | error
 *   quit
 * <resp...> is: resp R status S resid X sense HEX used U data HEX
 * (data: the first 64 bytes of data-in). Exit: 0, 3 on connection failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/virtio.h"

#define MAX_INFLIGHT	64
#define DATA_MAX	(1u << 20)

struct pending {
	bool		busy;
	bool		done;
	uint32_t	id;
	uint8_t		*in;
	uint32_t	in_len;
	struct virtio_req_result res;
	struct virtio_scsi_cmd_resp resp;
};

static struct virtio_dev *g_dev;
static struct pending g_pend[MAX_INFLIGHT];
static uint32_t g_next_id = 1;

static int
hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (strcmp(hex, "-") == 0) {
		return 0;
	}
	while (hex[0] != '\0' && hex[1] != '\0') {
		unsigned int b;

		if (n == max || sscanf(hex, "%2x", &b) != 1) {
			return -1;
		}
		out[n++] = (uint8_t)b;
		hex += 2;
	}
	return (int)n;
}

static void
hex_print(const uint8_t *b, uint32_t n)
{
	uint32_t i;

	if (n == 0) {
		printf("-");
	}
	for (i = 0; i < n; i++) {
		printf("%02x", b[i]);
	}
}

static void
print_resp(const struct virtio_scsi_cmd_resp *r, uint32_t used, const uint8_t *in,
	   uint32_t in_len)
{
	uint32_t data = used > sizeof(*r) ? used - (uint32_t)sizeof(*r) : 0;

	printf("resp %u status %u resid %u sense ", r->response, r->status, r->resid);
	hex_print(r->sense, r->sense_len > 96 ? 96 : r->sense_len);
	printf(" used %u data ", used);
	hex_print(in, in != NULL ? (data < in_len ? data : in_len) > 64 ? 64 :
		  (data < in_len ? data : in_len) : 0);
	printf("\n");
}

static void
cmd_done(void *cb_arg, const struct virtio_req_result *res)
{
	struct pending *p = cb_arg;

	p->res = *res;
	p->res.scsi = NULL;
	if (res->scsi != NULL) {
		p->resp = *res->scsi;
	} else {
		memset(&p->resp, 0, sizeof(p->resp));
		p->resp.response = 0xff;
	}
	p->done = true;
}

static int
do_send(char *args)
{
	unsigned int t, l, in_len;
	char cdbhex[80], outhex[4096] = "-";
	uint8_t cdb[32];
	struct pending *p = NULL;
	struct iovec iov;
	int cdb_len, out_len, i, rc;
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 2);

	if (sscanf(args, "%u %u %79s %u %4095s", &t, &l, cdbhex, &in_len, outhex) < 4) {
		printf("error usage\n");
		return -1;
	}
	cdb_len = hex_decode(cdbhex, cdb, sizeof(cdb));
	for (i = 0; i < MAX_INFLIGHT; i++) {
		if (!g_pend[i].busy) {
			p = &g_pend[i];
			break;
		}
	}
	if (cdb_len <= 0 || p == NULL || in_len > DATA_MAX) {
		printf("error args\n");
		return -1;
	}
	{
		uint8_t *keep = p->in;

		memset(p, 0, sizeof(*p));
		p->in = keep;
	}
	if (p->in == NULL) {
		p->in = virtio_mem_alloc(virtio_dev_mem(g_dev), DATA_MAX, 4096);
	}
	if (p->in == NULL) {
		printf("error nomem\n");
		return -1;
	}
	out_len = hex_decode(outhex, p->in, DATA_MAX);
	if (out_len < 0) {
		printf("error hex\n");
		return -1;
	}
	p->busy = true;
	p->id = g_next_id++;
	p->in_len = in_len;
	iov.iov_base = p->in;
	iov.iov_len = out_len > 0 ? (size_t)out_len : in_len;
	rc = virtio_scsi_submit(vq, (uint8_t)t, (uint16_t)l, cdb, (uint32_t)cdb_len, &iov,
				iov.iov_len > 0 ? 1 : 0, out_len > 0, cmd_done, p);
	if (rc != 0) {
		p->busy = false;
		printf("error submit %d\n", rc);
		return -1;
	}
	virtio_vq_notify(vq);
	return (int)p->id;
}

static void
do_reap(unsigned int ms)
{
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 2);
	int i, rc;

	for (;;) {
		virtio_vq_process(vq, 64);
		for (i = 0; i < MAX_INFLIGHT; i++) {
			struct pending *p = &g_pend[i];

			if (p->busy && p->done) {
				p->busy = false;
				printf("done %u ", p->id);
				print_resp(&p->resp, p->res.used_len, p->in, p->in_len);
				return;
			}
		}
		if (virtio_vq_inflight(vq) == 0) {
			printf("none\n");
			return;
		}
		rc = virtio_vq_wait(vq, ms);
		if (rc != 0) {
			printf("none\n");
			return;
		}
	}
}

/* A hand-made chain on queue 3: [hdr(HDRLEN)][data-out] / [resp][data-in]. */
static void
do_raw(char *args)
{
	char lunhex[40], cdbhex[80], outhex[4096] = "-";
	unsigned int in_len, hdr_len = sizeof(struct virtio_scsi_cmd_req);
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 3);
	struct virtio_scsi_cmd_req *req;
	struct virtio_scsi_cmd_resp *resp;
	static uint8_t *buf;
	struct virtio_buf b[4];
	uint8_t *data;
	uint32_t len;
	void *ctx;
	int n = 0, out_len, rc;

	if (sscanf(args, "%39s %79s %u %4095s %u", lunhex, cdbhex, &in_len, outhex,
		   &hdr_len) < 3 || in_len > 65536 || hdr_len > sizeof(*req)) {
		printf("error usage\n");
		return;
	}
	if (buf == NULL) {
		buf = virtio_mem_alloc(virtio_dev_mem(g_dev), 4096 + 2 * 65536, 4096);
		if (buf == NULL) {
			printf("error nomem\n");
			return;
		}
	}
	memset(buf, 0, 4096 + 2 * 65536);
	req = (struct virtio_scsi_cmd_req *)buf;
	resp = (struct virtio_scsi_cmd_resp *)(buf + 1024);
	data = buf + 4096;
	resp->response = 0xff;
	if (hex_decode(lunhex, req->lun, 8) < 0 || hex_decode(cdbhex, req->cdb, 32) < 0) {
		printf("error hex\n");
		return;
	}
	req->tag = 0x1234;
	out_len = hex_decode(outhex, data + 65536, 65536);
	if (out_len < 0) {
		printf("error hex\n");
		return;
	}
	if (hdr_len > 0) {
		b[n++] = (struct virtio_buf){req, hdr_len, false};
	}
	if (out_len > 0) {
		b[n++] = (struct virtio_buf){data + 65536, (uint32_t)out_len, false};
	}
	b[n++] = (struct virtio_buf){resp, sizeof(*resp), true};
	if (in_len > 0) {
		b[n++] = (struct virtio_buf){data, in_len, true};
	}
	rc = virtio_vq_add(vq, b, (uint16_t)n, false, buf);
	if (rc != 0) {
		printf("error add %d\n", rc);
		return;
	}
	virtio_vq_notify(vq);
	while ((rc = virtio_vq_get_used(vq, &ctx, &len)) == -EAGAIN) {
		if (virtio_vq_wait(vq, 5000) != 0) {
			printf("none\n");
			return;
		}
	}
	if (len == 0) {
		printf("used 0\n");
		return;
	}
	printf("done 0 ");
	print_resp(resp, len, data, in_len);
}

static void
tmf_done(void *cb_arg, const struct virtio_req_result *res)
{
	int *out = cb_arg;

	*out = res->status;
}

static void
do_tmf(char *args)
{
	unsigned int sub, t, l;
	unsigned long long tag;
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 0);
	int result = -1000, rc;

	if (sscanf(args, "%u %u %u %llu", &sub, &t, &l, &tag) != 4) {
		printf("error usage\n");
		return;
	}
	rc = virtio_scsi_submit_tmf(vq, sub, (uint8_t)t, (uint16_t)l, tag, tmf_done, &result);
	if (rc != 0) {
		printf("error submit %d\n", rc);
		return;
	}
	virtio_vq_notify(vq);
	while (result == -1000) {
		if (virtio_vq_wait(vq, 10000) != 0) {
			printf("none\n");
			return;
		}
		virtio_vq_process(vq, 8);
	}
	printf("tmf %d\n", result);
}

static void
do_an(char *args)
{
	unsigned int type, t;
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 0);
	struct virtio_scsi_ctrl_an_req *req;
	struct virtio_scsi_ctrl_an_resp *resp;
	static uint8_t *buf;
	struct virtio_buf b[2];
	uint32_t len;
	void *ctx;
	int rc;

	if (sscanf(args, "%u %u", &type, &t) != 2) {
		printf("error usage\n");
		return;
	}
	if (buf == NULL) {
		buf = virtio_mem_alloc(virtio_dev_mem(g_dev), 4096, 4096);
	}
	req = (struct virtio_scsi_ctrl_an_req *)buf;
	resp = (struct virtio_scsi_ctrl_an_resp *)(buf + 512);
	memset(buf, 0, 1024);
	req->type = type;
	virtio_scsi_lun_encode(req->lun, (uint8_t)t, 0);
	req->event_requested = 0xffffffffu;
	resp->response = 0xff;
	resp->event_actual = 0xdead;
	b[0] = (struct virtio_buf){req, sizeof(*req), false};
	b[1] = (struct virtio_buf){resp, sizeof(*resp), true};
	rc = virtio_vq_add(vq, b, 2, false, buf);
	if (rc != 0) {
		printf("error add %d\n", rc);
		return;
	}
	virtio_vq_notify(vq);
	while ((rc = virtio_vq_get_used(vq, &ctx, &len)) == -EAGAIN) {
		if (virtio_vq_wait(vq, 5000) != 0) {
			printf("none\n");
			return;
		}
	}
	printf("an %u %u used %u\n", resp->response, resp->event_actual, len);
}

static void
do_event(unsigned int ms)
{
	struct virtio_vq *vq = virtio_dev_vq(g_dev, 1);
	struct virtio_scsi_event ev;

	while (virtio_scsi_event_get(vq, &ev) != 0) {
		if (virtio_vq_wait(vq, ms) != 0) {
			printf("none\n");
			return;
		}
	}
	printf("event 0x%x %u %u %u\n", ev.event, ev.lun[1], (unsigned int)ev.lun[2] << 8 | ev.lun[3],
	       ev.reason);
}

int
main(int argc, char **argv)
{
	struct virtio_dev_opts opts = {
		.type = VIRTIO_DEV_SCSI,
		.num_queues = 4,
		.queue_size = 128,
		.mem_size = 256ull << 20,
		.timeout_ms = 5000,
	};
	char line[8192];
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: vscsi-client SOCK [--packed]\n");
		return 2;
	}
	opts.socket_path = argv[1];
	if (argc > 2 && strcmp(argv[2], "--packed") == 0) {
		opts.packed = true;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = virtio_dev_open(&opts, &g_dev);
	if (rc != 0) {
		printf("error connect %d\n", rc);
		return 3;
	}
	printf("ready features 0x%" PRIx64 "\n", virtio_dev_features(g_dev));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *nl = strchr(line, '\n');
		unsigned int v = 0;

		if (nl != NULL) {
			*nl = '\0';
		}
		if (strncmp(line, "post ", 5) == 0) {
			rc = virtio_scsi_event_post(virtio_dev_vq(g_dev, 1),
						    (uint16_t)strtoul(line + 5, NULL, 0));
			printf(rc == 0 ? "ok\n" : "error post\n");
		} else if (sscanf(line, "event %u", &v) == 1) {
			do_event(v);
		} else if (strncmp(line, "send ", 5) == 0) {
			rc = do_send(line + 5);
			if (rc > 0) {
				printf("sent %d\n", rc);
			}
		} else if (sscanf(line, "reap %u", &v) == 1) {
			do_reap(v);
		} else if (strncmp(line, "cmd ", 4) == 0) {
			if (do_send(line + 4) > 0) {
				do_reap(5000);
			}
		} else if (strncmp(line, "raw ", 4) == 0) {
			do_raw(line + 4);
		} else if (strncmp(line, "tmf ", 4) == 0) {
			do_tmf(line + 4);
		} else if (strncmp(line, "an ", 3) == 0) {
			do_an(line + 3);
		} else if (strcmp(line, "restart") == 0) {
			rc = virtio_dev_stop(g_dev);
			if (rc == 0) {
				rc = virtio_dev_start(g_dev);
			}
			printf(rc == 0 ? "ok\n" : "error restart %d\n", rc);
		} else if (strcmp(line, "stop") == 0) {
			rc = virtio_dev_stop(g_dev);
			printf(rc == 0 ? "ok\n" : "error stop %d\n", rc);
		} else if (strcmp(line, "start") == 0) {
			rc = virtio_dev_start(g_dev);
			printf(rc == 0 ? "ok\n" : "error start %d\n", rc);
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("error unknown\n");
		}
		if (!virtio_dev_is_connected(g_dev)) {
			printf("disconnected\n");
			break;
		}
	}
	virtio_dev_destroy(g_dev);
	return 0;
}

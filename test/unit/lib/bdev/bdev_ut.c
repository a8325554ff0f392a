/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev core: a stub backend that holds I/O until the test completes it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/bdev_module.h"
#include "../../common/ut_thread.h"

/* ---- stub backend ---- */

struct ut_io {
	TAILQ_ENTRY(ut_io) link;
};

struct ut_disk {
	struct bdev		bdev;
	bool			inline_complete;
	bool			support_reset;
	bool			no_unmap;
	uint8_t			*data;
	TAILQ_HEAD(, ut_io)	held;
	int			nheld;
	int			destructs;
	int			ch_creates;
	int			ch_destroys;
	int			submits;
	int			resets;
	/* Last submission seen by the backend. */
	enum bdev_io_type	last_type;
	uint64_t		last_offset;
	uint64_t		last_num;
	int			last_iovcnt;
	bool			last_aligned;
	uint64_t		max_num_seen;
};

static struct bdev_module g_ut_module = {
	.name = "ut",
	.ctx_size = sizeof(struct ut_io),
};
BDEV_MODULE_REGISTER(ut, &g_ut_module);

static int
ut_destruct(struct bdev *bdev)
{
	struct ut_disk *d = (struct ut_disk *)bdev;

	d->destructs++;
	return 0;
}

static void
ut_do_data(struct ut_disk *d, struct bdev_io *io)
{
	size_t off = io->offset_blocks * d->bdev.blocklen;
	size_t len = bdev_io_num_bytes(io);

	if (d->data == NULL) {
		return;
	}
	if (io->type == BDEV_IO_TYPE_READ) {
		bdev_buf_to_iovs(io->iovs, io->iovcnt, 0, d->data + off, len);
	} else if (io->type == BDEV_IO_TYPE_WRITE) {
		bdev_iovs_to_buf(d->data + off, io->iovs, io->iovcnt, 0, len);
	}
}

static void
ut_submit(struct io_channel *ch, struct bdev_io *io)
{
	struct ut_disk *d = (struct ut_disk *)io->bdev;
	struct ut_io *u = bdev_io_get_driver_ctx(io);
	int i;

	d->submits++;
	d->last_type = io->type;
	d->last_offset = io->offset_blocks;
	d->last_num = io->num_blocks;
	d->last_iovcnt = io->iovcnt;
	d->last_aligned = true;
	if (io->num_blocks > d->max_num_seen) {
		d->max_num_seen = io->num_blocks;
	}
	for (i = 0; i < io->iovcnt; i++) {
		if (((uintptr_t)io->iovs[i].iov_base | io->iovs[i].iov_len) & 511) {
			d->last_aligned = false;
		}
	}
	if (io->type == BDEV_IO_TYPE_RESET) {
		struct ut_io *h;

		d->resets++;
		while ((h = TAILQ_FIRST(&d->held)) != NULL) {
			TAILQ_REMOVE(&d->held, h, link);
			d->nheld--;
			bdev_io_complete(bdev_io_from_ctx(h), BDEV_IO_STATUS_ABORTED);
		}
		bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
		return;
	}
	ut_do_data(d, io);
	if (d->inline_complete) {
		bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
		return;
	}
	TAILQ_INSERT_TAIL(&d->held, u, link);
	d->nheld++;
}

/* Complete the oldest `n` held I/Os with `status`. */
static void
ut_complete(struct ut_disk *d, int n, enum bdev_io_status status)
{
	struct ut_io *u;

	while (n-- > 0 && (u = TAILQ_FIRST(&d->held)) != NULL) {
		TAILQ_REMOVE(&d->held, u, link);
		d->nheld--;
		bdev_io_complete(bdev_io_from_ctx(u), status);
	}
}

static bool
ut_supported(struct bdev *bdev, enum bdev_io_type type)
{
	struct ut_disk *d = (struct ut_disk *)bdev;

	if (type == BDEV_IO_TYPE_RESET) {
		return d->support_reset;
	}
	if (type == BDEV_IO_TYPE_UNMAP) {
		return !d->no_unmap;
	}
	return true;
}

static struct io_channel *
ut_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static int
ut_ch_create(void *dev, void *ctx)
{
	((struct ut_disk *)dev)->ch_creates++;
	return 0;
}

static void
ut_ch_destroy(void *dev, void *ctx)
{
	((struct ut_disk *)dev)->ch_destroys++;
}

static const struct bdev_fn_table ut_fn_table = {
	.destruct = ut_destruct,
	.submit_request = ut_submit,
	.io_type_supported = ut_supported,
	.get_io_channel = ut_get_io_channel,
};

static struct ut_disk *
ut_disk_create(const char *name, uint64_t blocks)
{
	struct ut_disk *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->bdev.name = strdup(name);
	d->bdev.product_name = "ut disk";
	d->bdev.blocklen = 512;
	d->bdev.blockcnt = blocks;
	d->bdev.fn_table = &ut_fn_table;
	d->bdev.module = &g_ut_module;
	TAILQ_INIT(&d->held);
	io_device_register(d, ut_ch_create, ut_ch_destroy, 8, name);
	assert_int_equal(bdev_register(&d->bdev), 0);
	return d;
}

static void
ut_disk_free(struct ut_disk *d)
{
	io_device_unregister(d, NULL);
	ut_poll_threads();
	free(d->bdev.name);
	free(d->data);
	free(d);
}

/* ---- user side ---- */

struct ev_rec {
	int			removes;
	int			resizes;
	struct thread		*thread;
	struct bdev_desc	*desc;
	bool			close_on_remove;
};

static void
ev_cb(enum bdev_event_type type, struct bdev *bdev, void *ctx)
{
	struct ev_rec *e = ctx;

	e->thread = thread_get_current();
	if (type == BDEV_EVENT_REMOVE) {
		e->removes++;
		if (e->close_on_remove) {
			bdev_close(e->desc);
		}
	} else {
		e->resizes++;
	}
}

struct cpl {
	int			called;
	bool			success;
	enum bdev_io_status	status;
	int			err;
	int			order;
};

static int g_order;

static void
io_done(struct bdev_io *io, bool success, void *arg)
{
	struct cpl *c = arg;

	c->called++;
	c->success = success;
	c->status = bdev_io_get_status(io);
	c->err = bdev_io_get_errno(io);
	c->order = ++g_order;
	bdev_free_io(io);
}

struct unreg {
	int	called;
	int	rc;
};

static void
unreg_done(void *arg, int rc)
{
	struct unreg *u = arg;

	u->called++;
	u->rc = rc;
}

static int
setup(void **state)
{
	ut_threads_init(3);
	bdev_set_io_pool_size(0);
	return 0;
}

static int
teardown(void **state)
{
	ut_threads_fini();
	return 0;
}

static void
unregister_and_free(struct ut_disk *d)
{
	struct unreg u = {};

	bdev_unregister(&d->bdev, unreg_done, &u);
	ut_poll_threads();
	assert_int_equal(u.called, 1);
	assert_int_equal(u.rc, 0);
	assert_int_equal(d->destructs, 1);
	ut_disk_free(d);
}

/* ---- tests ---- */

static void
test_bdev_register_bad_geometry(void **state)
{
	struct ut_disk d = {};

	d.bdev.name = "bad";
	d.bdev.fn_table = &ut_fn_table;
	d.bdev.module = &g_ut_module;
	d.bdev.blocklen = 520;
	d.bdev.blockcnt = 10;
	assert_int_equal(bdev_register(&d.bdev), -EINVAL);
	d.bdev.blocklen = 256;
	assert_int_equal(bdev_register(&d.bdev), -EINVAL);
	d.bdev.blocklen = 512;
	d.bdev.blockcnt = 0;
	assert_int_equal(bdev_register(&d.bdev), -EINVAL);
	d.bdev.blockcnt = UINT64_MAX / 256;
	assert_int_equal(bdev_register(&d.bdev), -EINVAL);
	d.bdev.blockcnt = 8;
	d.bdev.fn_table = NULL;
	assert_int_equal(bdev_register(&d.bdev), -EINVAL);
	assert_null(bdev_get_by_name("bad"));
}

static void
test_bdev_register_duplicate_and_aliases(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct ut_disk dup = {};
	char uuid[37];

	dup.bdev.name = "d0";
	dup.bdev.fn_table = &ut_fn_table;
	dup.bdev.module = &g_ut_module;
	dup.bdev.blocklen = 512;
	dup.bdev.blockcnt = 8;
	assert_int_equal(bdev_register(&dup.bdev), -EEXIST);
	/* Same UUID as d0 under another name: the UUID alias collides. */
	dup.bdev.name = "d1";
	dup.bdev.uuid = d->bdev.uuid;
	assert_int_equal(bdev_register(&dup.bdev), -EEXIST);
	assert_null(bdev_get_by_name("d1"));

	util_uuid_fmt(uuid, bdev_get_uuid(&d->bdev));
	assert_ptr_equal(bdev_get_by_name(uuid), &d->bdev);
	assert_int_equal(bdev_alias_add(&d->bdev, "alias0"), 0);
	assert_int_equal(bdev_alias_add(&d->bdev, "alias0"), -EEXIST);
	assert_int_equal(bdev_alias_add(&d->bdev, "d0"), -EEXIST);
	assert_ptr_equal(bdev_get_by_name("alias0"), &d->bdev);
	assert_int_equal(bdev_alias_del(&d->bdev, "alias0"), 0);
	assert_int_equal(bdev_alias_del(&d->bdev, "alias0"), -ENOENT);
	assert_null(bdev_get_by_name("alias0"));
	assert_ptr_equal(bdev_first(), &d->bdev);
	assert_null(bdev_next(&d->bdev));
	unregister_and_free(d);
	assert_null(bdev_get_by_name(uuid));
}

static void
test_bdev_open_errors(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc, *desc2;
	struct ev_rec e = {};

	assert_int_equal(bdev_open_ext("nope", false, ev_cb, &e, &desc), -ENODEV);
	assert_int_equal(bdev_open_ext("d0", false, NULL, &e, &desc), -EINVAL);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e, &desc), 0);
	assert_ptr_equal(bdev_desc_get_bdev(desc), &d->bdev);
	/* Claims: exclusive writer. */
	assert_int_equal(bdev_desc_claim(desc, "vhost"), 0);
	assert_true(bdev_is_claimed(&d->bdev));
	assert_string_equal(bdev_get_claim_owner(&d->bdev), "vhost");
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc2), -EPERM);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e, &desc2), 0);
	assert_int_equal(bdev_desc_claim(desc2, "other"), -EPERM);
	bdev_close(desc);
	assert_false(bdev_is_claimed(&d->bdev));
	assert_int_equal(bdev_desc_claim(desc2, "other"), 0);
	bdev_close(desc2);
	unregister_and_free(d);
}

static void
test_bdev_io_range_checks(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc, *ro;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {};
	char buf[512 * 4];
	struct iovec iov = {buf, 512};

	d->inline_complete = true;
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e, &ro), 0);
	ch = bdev_get_io_channel(desc);
	assert_non_null(ch);

	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 0, io_done, &c), -EINVAL);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 100, 1, io_done, &c), -EINVAL);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 99, 2, io_done, &c), -EINVAL);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, UINT64_MAX, 2, io_done, &c), -EINVAL);
	assert_int_equal(bdev_write_blocks(desc, ch, buf, 1, UINT64_MAX, io_done, &c), -EINVAL);
	assert_int_equal(bdev_unmap_blocks(desc, ch, 50, 51, io_done, &c), -EINVAL);
	assert_int_equal(bdev_write_zeroes_blocks(desc, ch, 0, 0, io_done, &c), -EINVAL);
	assert_int_equal(bdev_read_blocks(desc, ch, NULL, 0, 1, io_done, &c), -EINVAL);
	/* iovecs shorter than the length */
	assert_int_equal(bdev_readv_blocks(desc, ch, &iov, 1, 0, 2, io_done, &c), -EINVAL);
	assert_int_equal(bdev_readv_blocks(desc, ch, &iov, 0, 0, 1, io_done, &c), -EINVAL);
	assert_int_equal(bdev_readv_blocks(desc, ch, NULL, 1, 0, 1, io_done, &c), -EINVAL);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, NULL, &c), -EINVAL);
	/* read-only descriptor */
	assert_int_equal(bdev_write_blocks(ro, ch, buf, 0, 1, io_done, &c), -EBADF);
	assert_int_equal(bdev_unmap_blocks(ro, ch, 0, 1, io_done, &c), -EBADF);
	assert_int_equal(bdev_write_zeroes_blocks(ro, ch, 0, 1, io_done, &c), -EBADF);
	/* unsupported */
	d->no_unmap = true;
	assert_int_equal(bdev_unmap_blocks(desc, ch, 0, 1, io_done, &c), -ENOTSUP);
	assert_false(bdev_io_type_supported(&d->bdev, BDEV_IO_TYPE_UNMAP));
	assert_int_equal(d->submits, 0);
	assert_int_equal(c.called, 0);

	/* the last block and a zero-length flush are valid */
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 99, 1, io_done, &c), 0);
	assert_int_equal(bdev_flush_blocks(desc, ch, 0, 0, io_done, &c), 0);
	assert_int_equal(bdev_read_blocks(ro, ch, buf, 96, 4, io_done, &c), 0);
	/* Inline completion is deferred: nothing ran yet. */
	assert_int_equal(c.called, 0);
	ut_poll_threads();
	assert_int_equal(c.called, 3);
	assert_true(c.success);

	/* iovecs longer than the I/O: the backend gets exactly the length. */
	{
		struct iovec big[2] = {{buf, 1024}, {buf + 1024, 1024}};

		assert_int_equal(bdev_readv_blocks(desc, ch, big, 2, 0, 3, io_done, &c), 0);
		assert_int_equal(d->last_iovcnt, 2);
		ut_poll_threads();
		assert_int_equal(c.called, 4);
	}
	io_channel_put(ch);
	bdev_close(ro);
	bdev_close(desc);
	ut_poll_threads();
	unregister_and_free(d);
}

struct waiter {
	struct bdev_io_wait_entry	entry;
	struct bdev_desc		*desc;
	struct io_channel		*ch;
	struct cpl			c;
	int				ran;
	int				order;
	int				rc;
	char				buf[512];
};

static void
waiter_cb(void *arg)
{
	struct waiter *w = arg;

	w->ran++;
	w->order = ++g_order;
	w->rc = bdev_read_blocks(w->desc, w->ch, w->buf, 0, 1, io_done, &w->c);
}

static void
test_bdev_io_nomem_retry_order(void **state)
{
	struct ut_disk *d;
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c[4] = {};
	struct waiter w[3] = {};
	char buf[512];
	int i;

	bdev_set_io_pool_size(4);
	d = ut_disk_create("d0", 100);
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	for (i = 0; i < 4; i++) {
		assert_int_equal(bdev_read_blocks(desc, ch, buf, i, 1, io_done, &c[i]), 0);
	}
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c[0]), -ENOMEM);
	for (i = 0; i < 3; i++) {
		w[i].desc = desc;
		w[i].ch = ch;
		w[i].entry.cb_fn = waiter_cb;
		w[i].entry.cb_arg = &w[i];
		assert_int_equal(bdev_queue_io_wait(&d->bdev, ch, &w[i].entry), 0);
	}
	g_order = 0;
	/* One completion frees one bdev_io: exactly the first waiter runs. */
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	assert_int_equal(c[0].called, 1);
	assert_int_equal(w[0].ran, 1);
	assert_int_equal(w[0].rc, 0);
	assert_int_equal(w[1].ran, 0);
	ut_complete(d, 2, BDEV_IO_STATUS_SUCCESS);
	assert_int_equal(w[1].ran, 1);
	assert_int_equal(w[2].ran, 1);
	assert_true(w[1].order < w[2].order);
	assert_int_equal(w[1].rc, 0);
	assert_int_equal(w[2].rc, 0);
	/* With a free bdev_io, queueing is refused: just retry. */
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	assert_int_equal(bdev_queue_io_wait(&d->bdev, ch, &w[0].entry), -EINVAL);
	ut_complete(d, 10, BDEV_IO_STATUS_SUCCESS);
	ut_poll_threads();
	for (i = 0; i < 3; i++) {
		assert_int_equal(w[i].c.called, 1);
	}
	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	unregister_and_free(d);
}

static void
test_bdev_hotremove_inflight(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc, *desc2;
	struct io_channel *ch;
	struct ev_rec e = {}, e2 = {};
	struct cpl c[2] = {};
	struct unreg u = {};
	char buf[1024];

	/* The opener is thread 1: REMOVE must arrive there. */
	ut_set_thread(1);
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c[0]), 0);
	assert_int_equal(bdev_write_blocks(desc, ch, buf, 1, 2, io_done, &c[1]), 0);
	ut_set_thread(2);
	e2.close_on_remove = true;
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e2, &desc2), 0);
	e2.desc = desc2;

	ut_set_thread(0);
	bdev_unregister(&d->bdev, unreg_done, &u);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e, &desc2), -EBUSY);
	ut_poll_threads();
	assert_int_equal(e.removes, 1);
	assert_ptr_equal(e.thread, ut_thread(1));
	assert_int_equal(e2.removes, 1);
	assert_ptr_equal(e2.thread, ut_thread(2));
	/* Still open on thread 1: not destroyed; new I/O refused. */
	assert_int_equal(u.called, 0);
	assert_int_equal(d->destructs, 0);
	ut_set_thread(1);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c[0]), -EBADF);
	/* Calling it twice reports -EBUSY without disturbing the first. */
	{
		struct unreg u2 = {};

		bdev_unregister(&d->bdev, unreg_done, &u2);
		assert_int_equal(u2.called, 1);
		assert_int_equal(u2.rc, -EBUSY);
	}
	/* The I/O in flight completes normally. */
	ut_complete(d, 2, BDEV_IO_STATUS_SUCCESS);
	assert_int_equal(c[0].called, 1);
	assert_int_equal(c[1].called, 1);
	assert_true(c[1].success);
	io_channel_put(ch);
	bdev_close(desc);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(u.called, 1);
	assert_int_equal(u.rc, 0);
	assert_int_equal(d->destructs, 1);
	assert_int_equal(d->ch_destroys, d->ch_creates);
	assert_null(bdev_get_by_name("d0"));
	ut_disk_free(d);
}

static void
test_bdev_resize_event(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc1, *desc2;
	struct ev_rec e1 = {}, e2 = {};

	ut_set_thread(1);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e1, &desc1), 0);
	ut_set_thread(2);
	assert_int_equal(bdev_open_ext("d0", false, ev_cb, &e2, &desc2), 0);
	ut_set_thread(0);
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 200), 0);
	assert_int_equal(bdev_get_num_blocks(&d->bdev), 200);
	ut_poll_threads();
	assert_int_equal(e1.resizes, 1);
	assert_ptr_equal(e1.thread, ut_thread(1));
	assert_int_equal(e2.resizes, 1);
	assert_ptr_equal(e2.thread, ut_thread(2));
	/* Same size: no event. Shrink while open: refused. Zero: refused. */
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 200), 0);
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 50), -EBUSY);
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 0), -EINVAL);
	ut_poll_threads();
	assert_int_equal(e1.resizes, 1);
	/* An event in flight to a descriptor closed meanwhile is dropped safely. */
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 300), 0);
	ut_set_thread(1);
	bdev_close(desc1);
	ut_set_thread(2);
	bdev_close(desc2);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(e1.resizes, 1);
	assert_int_equal(bdev_notify_blockcnt_change(&d->bdev, 50), 0);
	unregister_and_free(d);
}

static void
iostat_done(struct bdev *bdev, struct bdev_io_stat *stat, void *arg, int rc)
{
	*(int *)arg = rc + 1;
}

struct pc_ctx {
	int		channels;
	uint64_t	read_ops;
	int		done;
	struct thread	*threads[4];
};

static void
pc_each(struct thread *thread, const struct bdev_io_stat *stat, void *arg)
{
	struct pc_ctx *c = arg;

	c->threads[c->channels++] = thread;
	c->read_ops += stat->type[BDEV_IO_TYPE_READ].ops;
}

static void
pc_done(struct bdev *bdev, void *arg, int rc)
{
	((struct pc_ctx *)arg)->done = rc + 1;
}

static void
test_bdev_channel_teardown_and_iostat(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc[2];
	struct io_channel *ch[2];
	struct ev_rec e = {};
	struct cpl c = {};
	struct bdev_io_stat st;
	char buf[4096];
	int i, done = 0;

	d->inline_complete = true;
	for (i = 0; i < 2; i++) {
		ut_set_thread(i + 1);
		assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc[i]), 0);
		ch[i] = bdev_get_io_channel(desc[i]);
		assert_non_null(ch[i]);
		/* Same thread: the channel is shared (refcounted). */
		assert_ptr_equal(bdev_get_io_channel(desc[i]), ch[i]);
		io_channel_put(ch[i]);
		assert_int_equal(bdev_read_blocks(desc[i], ch[i], buf, 0, 8, io_done, &c), 0);
		assert_int_equal(bdev_write_blocks(desc[i], ch[i], buf, 0, 2, io_done, &c), 0);
	}
	ut_set_thread(1);
	assert_int_equal(bdev_write_zeroes_blocks(desc[0], ch[0], 0, 4, io_done, &c), 0);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(c.called, 5);
	assert_int_equal(d->ch_creates, 2);

	bdev_get_iostat(&d->bdev, &st, 0, iostat_done, &done);
	ut_poll_threads();
	assert_int_equal(done, 1);
	assert_int_equal(st.type[BDEV_IO_TYPE_READ].ops, 2);
	assert_int_equal(st.type[BDEV_IO_TYPE_READ].bytes, 2 * 8 * 512);
	assert_int_equal(st.type[BDEV_IO_TYPE_WRITE].ops, 2);
	assert_int_equal(st.type[BDEV_IO_TYPE_WRITE].bytes, 2 * 2 * 512);
	assert_int_equal(st.type[BDEV_IO_TYPE_WRITE_ZEROES].ops, 1);
	assert_true(st.type[BDEV_IO_TYPE_READ].lat_min <= st.type[BDEV_IO_TYPE_READ].lat_max);
	assert_true(st.type[BDEV_IO_TYPE_READ].lat_sum >= st.type[BDEV_IO_TYPE_READ].lat_max);
	assert_int_equal(st.type[BDEV_IO_TYPE_UNMAP].ops, 0);
	assert_true(st.type[BDEV_IO_TYPE_UNMAP].lat_min == UINT64_MAX);
	{
		struct pc_ctx pc = {};

		bdev_get_iostat_per_channel(&d->bdev, pc_each, pc_done, &pc);
		ut_poll_threads();
		assert_int_equal(pc.done, 1);
		assert_int_equal(pc.channels, 2);
		assert_int_equal(pc.read_ops, 2);
		assert_true(pc.threads[0] != pc.threads[1]);
	}

	/* Tear down one channel: the backend channel goes, the counters stay. */
	ut_set_thread(1);
	io_channel_put(ch[0]);
	bdev_close(desc[0]);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(d->ch_destroys, 1);
	done = 0;
	bdev_get_iostat(&d->bdev, &st, 1, iostat_done, &done);
	ut_poll_threads();
	assert_int_equal(done, 1);
	assert_int_equal(st.type[BDEV_IO_TYPE_READ].ops, 2);
	/* reset_mode all: next read is zero. */
	done = 0;
	bdev_get_iostat(&d->bdev, &st, 0, iostat_done, &done);
	ut_poll_threads();
	assert_int_equal(st.type[BDEV_IO_TYPE_READ].ops, 0);

	/* Failed I/O counts as an error, not an op. */
	d->inline_complete = false;
	ut_set_thread(2);
	assert_int_equal(bdev_read_blocks(desc[1], ch[1], buf, 0, 1, io_done, &c), 0);
	ut_complete(d, 1, BDEV_IO_STATUS_MEDIUM_ERROR);
	assert_false(c.success);
	assert_int_equal(c.status, BDEV_IO_STATUS_MEDIUM_ERROR);
	assert_int_equal(c.err, -EIO);
	io_channel_put(ch[1]);
	bdev_close(desc[1]);
	ut_set_thread(0);
	ut_poll_threads();
	assert_int_equal(d->ch_destroys, 2);
	bdev_get_iostat(&d->bdev, &st, 0, iostat_done, &done);
	ut_poll_threads();
	assert_int_equal(st.errors[-BDEV_IO_STATUS_MEDIUM_ERROR], 1);
	assert_int_equal(st.type[BDEV_IO_TYPE_READ].ops, 0);
	unregister_and_free(d);
}

static void
test_bdev_split_max_transfer(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {};
	uint8_t *src, *dst;
	struct iovec iov[3];
	int i;

	d->data = calloc(100, 512);
	d->inline_complete = true;
	d->bdev.max_rw_blocks = 8;
	d->bdev.max_write_zeroes_blocks = 5;
	assert_int_equal(bdev_get_max_transfer_blocks(&d->bdev), 8);
	src = malloc(20 * 512);
	dst = calloc(20, 512);
	for (i = 0; i < 20 * 512; i++) {
		src[i] = (uint8_t)(i * 7 + 3);
	}
	/* Odd iovec boundaries that do not line up with blocks. */
	iov[0].iov_base = src;
	iov[0].iov_len = 700;
	iov[1].iov_base = src + 700;
	iov[1].iov_len = 5000;
	iov[2].iov_base = src + 5700;
	iov[2].iov_len = 20 * 512 - 5700;
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	assert_int_equal(bdev_writev_blocks(desc, ch, iov, 3, 10, 20, io_done, &c), 0);
	ut_poll_threads();
	assert_int_equal(c.called, 1);
	assert_true(c.success);
	assert_int_equal(d->submits, 3);	/* 8 + 8 + 4 */
	assert_int_equal(d->max_num_seen, 8);
	assert_memory_equal(d->data + 10 * 512, src, 20 * 512);
	assert_int_equal(bdev_read_blocks(desc, ch, dst, 10, 20, io_done, &c), 0);
	ut_poll_threads();
	assert_int_equal(c.called, 2);
	assert_memory_equal(dst, src, 20 * 512);
	d->submits = 0;
	assert_int_equal(bdev_write_zeroes_blocks(desc, ch, 0, 12, io_done, &c), 0);
	ut_poll_threads();
	assert_int_equal(d->submits, 3);	/* 5 + 5 + 2 */

	/* A child failure fails the parent with the child's status. */
	d->inline_complete = false;
	d->submits = 0;
	assert_int_equal(bdev_read_blocks(desc, ch, dst, 0, 20, io_done, &c), 0);
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	ut_complete(d, 1, BDEV_IO_STATUS_MEDIUM_ERROR);
	ut_poll_threads();
	assert_int_equal(c.called, 4);
	assert_false(c.success);
	assert_int_equal(c.status, BDEV_IO_STATUS_MEDIUM_ERROR);
	assert_int_equal(d->submits, 2);
	assert_int_equal(d->nheld, 0);

	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	free(src);
	free(dst);
	unregister_and_free(d);
}

static void
test_bdev_split_optimal_boundary(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {};
	char buf[16 * 512];

	d->inline_complete = true;
	d->bdev.optimal_io_boundary = 8;
	d->bdev.split_on_optimal_io_boundary = true;
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	/* 6..13 crosses 8: two children, 6-7 and 8-13. */
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 6, 8, io_done, &c), 0);
	ut_poll_threads();
	assert_int_equal(d->submits, 2);
	assert_int_equal(d->last_offset, 8);
	assert_int_equal(d->last_num, 6);
	/* Inside one boundary window: no split. */
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 8, 8, io_done, &c), 0);
	ut_poll_threads();
	assert_int_equal(d->submits, 3);
	assert_int_equal(c.called, 2);
	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	unregister_and_free(d);
}

static void
test_bdev_split_nomem_child(void **state)
{
	struct ut_disk *d;
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {}, c2 = {};
	char buf[16 * 512];

	bdev_set_io_pool_size(2);
	d = ut_disk_create("d0", 100);
	d->bdev.max_rw_blocks = 4;
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	/* Parent + first child use both bdev_ios; the second parent waits for one. */
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 8, io_done, &c), 0);
	assert_int_equal(d->nheld, 1);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 8, io_done, &c2), -ENOMEM);
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	assert_int_equal(d->nheld, 1);
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	ut_poll_threads();
	assert_int_equal(c.called, 1);
	assert_true(c.success);
	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	unregister_and_free(d);
}

static void
test_bdev_bounce_unaligned(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {};
	uint8_t *mem = malloc(8192 + 1);
	uint8_t *unaligned = mem + 1;
	struct iovec iov[2];
	int i;

	d->data = calloc(100, 512);
	d->inline_complete = true;
	d->bdev.required_alignment = 512;
	for (i = 0; i < 4096; i++) {
		unaligned[i] = (uint8_t)(i ^ 0x5a);
	}
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	assert_int_equal(bdev_write_blocks(desc, ch, unaligned, 4, 8, io_done, &c), 0);
	assert_true(d->last_aligned);
	assert_int_equal(d->last_iovcnt, 1);
	ut_poll_threads();
	assert_true(c.success);
	assert_memory_equal(d->data + 4 * 512, unaligned, 4096);
	/* Read back through two odd iovecs. */
	memset(mem, 0, 8193);
	iov[0].iov_base = mem + 3;
	iov[0].iov_len = 1000;
	iov[1].iov_base = mem + 2000;
	iov[1].iov_len = 4096 - 1000;
	assert_int_equal(bdev_readv_blocks(desc, ch, iov, 2, 4, 8, io_done, &c), 0);
	assert_true(d->last_aligned);
	ut_poll_threads();
	assert_int_equal(c.called, 2);
	assert_memory_equal(mem + 3, d->data + 4 * 512, 1000);
	assert_memory_equal(mem + 2000, d->data + 4 * 512 + 1000, 3096);
	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	free(mem);
	unregister_and_free(d);
}

static void
test_bdev_reset_aborts_and_drains(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc, *desc2;
	struct io_channel *ch, *ch2;
	struct ev_rec e = {};
	struct cpl c[3] = {}, r = {}, late = {};
	char buf[512];

	d->support_reset = true;
	ut_set_thread(1);
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c[0]), 0);
	ut_set_thread(2);
	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc2), 0);
	ch2 = bdev_get_io_channel(desc2);
	assert_int_equal(bdev_read_blocks(desc2, ch2, buf, 0, 1, io_done, &c[1]), 0);
	ut_set_thread(1);
	assert_int_equal(bdev_reset(desc, ch, io_done, &r), 0);
	assert_int_equal(r.called, 0);
	ut_poll_threads();
	/* The backend aborted what it held; the reset completed after the drain. */
	assert_int_equal(d->resets, 1);
	assert_int_equal(c[0].called, 1);
	assert_int_equal(c[0].status, BDEV_IO_STATUS_ABORTED);
	assert_int_equal(c[1].called, 1);
	assert_int_equal(r.called, 1);
	assert_true(r.success);
	/* Unfrozen afterwards. */
	d->inline_complete = true;
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &late), 0);
	ut_poll_threads();
	assert_true(late.success);

	/* Without backend reset: the core waits for outstanding I/O; new I/O is aborted. */
	d->support_reset = false;
	d->inline_complete = false;
	assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c[2]), 0);
	r.called = 0;
	assert_int_equal(bdev_reset(desc, ch, io_done, &r), 0);
	ut_poll_threads();
	assert_int_equal(r.called, 0);
	late.called = 0;
	ut_set_thread(2);
	assert_int_equal(bdev_read_blocks(desc2, ch2, buf, 0, 1, io_done, &late), 0);
	ut_poll_threads();
	assert_int_equal(late.called, 1);
	assert_int_equal(late.status, BDEV_IO_STATUS_ABORTED);
	ut_complete(d, 1, BDEV_IO_STATUS_SUCCESS);
	assert_true(c[2].success);
	ut_advance_time_us(1000);
	ut_poll_threads();
	assert_int_equal(r.called, 1);
	assert_true(r.success);

	ut_set_thread(1);
	io_channel_put(ch);
	bdev_close(desc);
	ut_set_thread(2);
	io_channel_put(ch2);
	bdev_close(desc2);
	ut_set_thread(0);
	ut_poll_threads();
	unregister_and_free(d);
}

static void
test_bdev_status_errno_mapping(void **state)
{
	struct ut_disk *d = ut_disk_create("d0", 100);
	struct bdev_desc *desc;
	struct io_channel *ch;
	struct ev_rec e = {};
	struct cpl c = {};
	char buf[512];
	struct {
		int err;
		enum bdev_io_status st;
	} map[] = {
		{-EIO, BDEV_IO_STATUS_MEDIUM_ERROR},
		{-ENOSPC, BDEV_IO_STATUS_NOSPACE},
		{-ECANCELED, BDEV_IO_STATUS_ABORTED},
		{-EINVAL, BDEV_IO_STATUS_FAILED},
		{0, BDEV_IO_STATUS_SUCCESS},
	};
	size_t i;

	assert_int_equal(bdev_open_ext("d0", true, ev_cb, &e, &desc), 0);
	ch = bdev_get_io_channel(desc);
	for (i = 0; i < VHD_COUNTOF(map); i++) {
		struct ut_io *u;

		assert_int_equal(bdev_read_blocks(desc, ch, buf, 0, 1, io_done, &c), 0);
		u = TAILQ_FIRST(&d->held);
		TAILQ_REMOVE(&d->held, u, link);
		d->nheld--;
		bdev_io_complete_errno(bdev_io_from_ctx(u), map[i].err);
		assert_int_equal(c.status, map[i].st);
		assert_int_equal(c.err, map[i].err);
	}
	io_channel_put(ch);
	bdev_close(desc);
	ut_poll_threads();
	unregister_and_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bdev_register_bad_geometry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_register_duplicate_and_aliases, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bdev_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_io_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_io_nomem_retry_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_hotremove_inflight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_resize_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_channel_teardown_and_iostat, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bdev_split_max_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_split_optimal_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_split_nomem_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_bounce_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_reset_aborts_and_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bdev_status_errno_mapping, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

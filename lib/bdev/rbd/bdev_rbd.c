/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ceph RBD bdev on librbd.
 *
 * Threads. librbd blocks in rados_connect, rbd_open, rbd_resize, rbd_close and
 * rados_shutdown (for ever when the cluster is gone and no timeout applies), so
 * each of those runs on a short-lived detached pthread (rbd_job) and its
 * result comes back to the app thread by message. librbd calls I/O
 * completions on its own threads: they push the task on the owning channel's
 * lock-free list and kick the channel's eventfd, which wakes that reactor
 * even in interrupt mode; the completion itself runs on the channel thread.
 *
 * Lifetime. A disk holds a reference on its cluster; a close that does not
 * return within BDEV_RBD_CLOSE_WAIT_MS is detached: the bdev is reported gone
 * and the helper thread frees the image (and drops the cluster reference)
 * whenever librbd lets go. No I/O is completed before librbd's callback, so
 * guest buffers stay valid until librbd is done with them.
 *
 * Stale exclusive locks. Each connection records its client address in
 * $VHD_RBD_CLIENT_DIR (default /run/vhostd/rbd-clients) as "<pid> <starttime>".
 * rbd_open breaks the image's exclusive lock only when its owner's address
 * is such a record and that process no longer exists: a crashed vhostd on
 * this host. Any other owner is left alone (librbd then waits for it).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>
#include <json-c/json.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"

#include "bdev_rbd.h"

#define RBD_ERRMSG_LEN	256

struct rbd_cluster {
	char			*name;		/* NULL: private to one disk */
	char			*user_id;
	char			**config;	/* key, value, ..., NULL */
	char			*config_file;
	char			*key_file;
	rados_t			rados;
	bool			connected;
	char			*record;	/* client record path, or NULL */
	/* Disks + pending closes using it; touched by detached close threads too. */
	atomic_uint		ref;
	TAILQ_ENTRY(rbd_cluster) link;
};

struct rbd_disk {
	struct bdev		bdev;	/* first */
	char			*pool_name;
	char			*rbd_name;
	struct rbd_cluster	*cluster;
	bool			private_cluster;
	rados_ioctx_t		ioctx;
	rbd_image_t		image;
	uint64_t		watch_handle;
	bool			watching;
	bool			write_cache;
	bool			closing;	/* app thread */
	bool			io_device_gone;	/* app thread */
	struct thread		*close_thread;
	uint32_t		jobs;		/* resize checks running (app thread) */
	/* Close hand-off between the close thread and the app thread's deadline. */
	pthread_mutex_t		close_lock;
	bool			close_done;
	bool			close_abandoned;
	struct poller		*close_timer;
	TAILQ_ENTRY(rbd_disk)	link;
};

struct rbd_task {
	struct rbd_task		*next;
	struct rbd_channel	*ch;
	rbd_completion_t	comp;
	ssize_t			ret;
};

struct rbd_channel {
	struct rbd_disk		*disk;
	_Atomic(struct rbd_task *) done;	/* pushed by librbd threads */
	int			efd;
	uint32_t		inflight;
	struct poller		*poller;
	struct thread_interrupt	*intr;
};

static TAILQ_HEAD(, rbd_cluster) g_clusters = TAILQ_HEAD_INITIALIZER(g_clusters);
static TAILQ_HEAD(, rbd_disk) g_disks = TAILQ_HEAD_INITIALIZER(g_disks);
/* Names of bdevs being opened: not yet registered but taken. */
struct rbd_pending_name {
	char				*name;
	TAILQ_ENTRY(rbd_pending_name)	link;
};
static TAILQ_HEAD(, rbd_pending_name) g_pending = TAILQ_HEAD_INITIALIZER(g_pending);
static uint32_t g_name_seq;
/*
 * Disks whose rbd_close is running (maybe detached): reopening the same image on
 * the same connection before it returns fails every write (librbd sees its own
 * client as the lock owner and refuses to self-blocklist), so create waits for it.
 */
static TAILQ_HEAD(, rbd_disk) g_closing = TAILQ_HEAD_INITIALIZER(g_closing);
static pthread_mutex_t g_closing_lock = PTHREAD_MUTEX_INITIALIZER;

static void rbd_module_fini(void);

static struct bdev_module g_rbd_module = {
	.name = "rbd",
	.module_fini = rbd_module_fini,
	.ctx_size = sizeof(struct rbd_task),
};

/* ---- helper pthreads for blocking calls ---- */

struct rbd_job {
	void		(*work)(void *arg);
	thread_msg_fn	done;
	void		*arg;
	struct thread	*origin;
};

static void
rbd_send_msg(struct thread *t, thread_msg_fn fn, void *arg)
{
	/* The target ring may be momentarily full: a helper thread may wait. */
	while (thread_send_msg(t, fn, arg) == -ENOMEM) {
		usleep(1000);
	}
}

static void *
rbd_job_main(void *arg)
{
	struct rbd_job *job = arg;

	job->work(job->arg);
	if (job->done != NULL) {
		rbd_send_msg(job->origin, job->done, job->arg);
	}
	free(job);
	return NULL;
}

/* Run work(arg) on a new detached pthread, then done(arg) on the calling thread. */
static int
rbd_job_run(void (*work)(void *), thread_msg_fn done, void *arg)
{
	struct rbd_job *job;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		return -ENOMEM;
	}
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->origin = thread_get_current();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals belong to the app's main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, rbd_job_main, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(job);
		return -rc;
	}
	pthread_setname_np(tid, "vhd_rbd_job");
	return 0;
}

/* ---- client records (stale lock rule) ---- */

static const char *
rbd_client_dir(void)
{
	const char *d = getenv("VHD_RBD_CLIENT_DIR");

	return d != NULL && d[0] != '\0' ? d : "/run/vhostd/rbd-clients";
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
static int
rbd_proc_starttime(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return -EIO;
	}
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL) {
		return -EIO;
	}
	/* After ")": field 3 is the state. */
	for (field = 2; field < 22 && p != NULL; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p == NULL || sscanf(p + 1, "%llu", start) != 1) {
		return -EIO;
	}
	return 0;
}

/*
 * The record key of an address: its nonce ("v2:127.0.0.1:0/1234" or
 * "[v2:127.0.0.1:0/1234]" -> "1234").
 */
static bool
rbd_addr_key(const char *addr, char *key, size_t len)
{
	const char *slash = strrchr(addr, '/');
	size_t n = 0;

	if (slash == NULL) {
		return false;
	}
	while (isdigit((unsigned char)slash[1 + n])) {
		n++;
	}
	if (n == 0 || n + 1 > len) {
		return false;
	}
	memcpy(key, slash + 1, n);
	key[n] = '\0';
	return true;
}

static void
rbd_client_record(struct rbd_cluster *c)
{
	const char *dir = rbd_client_dir();
	unsigned long long start;
	char *addrs = NULL, key[32], path[512], tmp[560];
	FILE *f;

	if (rados_getaddrs(c->rados, &addrs) != 0 || addrs == NULL) {
		return;
	}
	if (!rbd_addr_key(addrs, key, sizeof(key)) || rbd_proc_starttime(getpid(), &start) != 0) {
		goto out;
	}
	/* mkdir -p of at most two levels (/run/vhostd/rbd-clients). */
	snprintf(path, sizeof(path), "%s", dir);
	{
		char *s = strrchr(path, '/');

		if (s != NULL && s != path) {
			*s = '\0';
			mkdir(path, 0700);
			*s = '/';
		}
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f == NULL) {
		goto out;
	}
	fprintf(f, "%d %llu %s\n", (int)getpid(), start, addrs);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	c->record = strdup(path);
out:
	free(addrs);
}

/* True when `addr` was a client of a vhostd process that no longer runs. */
static bool
rbd_client_is_dead_instance(const char *addr)
{
	unsigned long long start, now;
	char key[32], path[512];
	FILE *f;
	int pid, n;

	if (!rbd_addr_key(addr, key, sizeof(key))) {
		return false;
	}
	snprintf(path, sizeof(path), "%s/%s", rbd_client_dir(), key);
	f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	n = fscanf(f, "%d %llu", &pid, &start);
	fclose(f);
	if (n != 2 || pid <= 0) {
		return false;
	}
	if (kill(pid, 0) == 0 || errno == EPERM) {
		/* Alive, unless the PID was reused by a later process. */
		if (rbd_proc_starttime(pid, &now) != 0 || now == start) {
			return false;
		}
	}
	unlink(path);
	return true;
}

/*
 * A lock still held under this very connection's address after our own handle of
 * the image was closed (a close that failed to release it while the OSDs were
 * away). librbd will not break it (that would blocklist ourselves), but the lock's
 * holder is this rados client, so cls_lock lets us unlock it. Helper thread.
 */
static void
rbd_release_own_leftover_lock(struct rbd_disk *disk)
{
	char tag[128], clients[512], cookies[512], addrs[512], id[64], oid[96];
	size_t tag_len = sizeof(tag), clients_len = sizeof(clients);
	size_t cookies_len = sizeof(cookies), addrs_len = sizeof(addrs);
	char *own = NULL, own_key[32], key[32];
	const char *cookie, *addr;
	ssize_t n, i;
	int excl, rc;

	if (rados_getaddrs(disk->cluster->rados, &own) != 0 || own == NULL) {
		return;
	}
	if (!rbd_addr_key(own, own_key, sizeof(own_key))) {
		goto out;
	}
	n = rbd_list_lockers(disk->image, &excl, tag, &tag_len, clients, &clients_len, cookies,
			     &cookies_len, addrs, &addrs_len);
	if (n <= 0 || rbd_get_id(disk->image, id, sizeof(id)) < 0) {
		goto out;
	}
	snprintf(oid, sizeof(oid), "rbd_header.%s", id);
	cookie = cookies;
	addr = addrs;
	for (i = 0; i < n; i++) {
		if (rbd_addr_key(addr, key, sizeof(key)) && strcmp(key, own_key) == 0) {
			rc = rados_unlock(disk->ioctx, oid, "rbd_lock", cookie);
			VHD_NOTICELOG("%s: released a lock left by our own earlier handle (%s): %s\n",
				      disk->bdev.name, cookie, rc == 0 ? "ok" : strerror(-rc));
		}
		cookie += strlen(cookie) + 1;
		addr += strlen(addr) + 1;
	}
out:
	free(own);
}

/* Break the exclusive lock of a dead instance of ours (helper thread). */
static void
rbd_break_stale_lock(struct rbd_disk *disk)
{
	rbd_lock_mode_t mode;
	char *owners[8];
	size_t n = VHD_COUNTOF(owners), i;
	int rc;

	rc = rbd_lock_get_owners(disk->image, &mode, owners, &n);
	if (rc != 0 || n == 0) {
		return;
	}
	for (i = 0; i < n; i++) {
		if (!rbd_client_is_dead_instance(owners[i])) {
			VHD_NOTICELOG("%s: exclusive lock held by %s (not a dead vhostd: left alone)\n",
				      disk->bdev.name, owners[i]);
			continue;
		}
		rc = rbd_lock_break(disk->image, mode, owners[i]);
		if (rc == 0) {
			VHD_NOTICELOG("%s: broke stale exclusive lock of dead vhostd client %s\n",
				      disk->bdev.name, owners[i]);
		} else {
			VHD_WARNLOG("%s: breaking stale lock of %s: %s\n", disk->bdev.name,
				    owners[i], strerror(-rc));
		}
	}
	rbd_lock_get_owners_cleanup(owners, n);
}

/* ---- clusters ---- */

static void
rbd_cluster_free(struct rbd_cluster *c)
{
	char **kv;

	if (c == NULL) {
		return;
	}
	for (kv = c->config; kv != NULL && *kv != NULL; kv++) {
		free(*kv);
	}
	free(c->config);
	free(c->name);
	free(c->user_id);
	free(c->config_file);
	free(c->key_file);
	free(c->record);
	free(c);
}

static struct rbd_cluster *
rbd_cluster_alloc(const struct rbd_cluster_opts *o)
{
	struct rbd_cluster *c;
	size_t n = 0, i;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return NULL;
	}
	while (o->config != NULL && o->config[n] != NULL) {
		n++;
	}
	if (n % 2 != 0) {
		goto err;
	}
	c->config = calloc(n + 1, sizeof(char *));
	if (c->config == NULL) {
		goto err;
	}
	for (i = 0; i < n; i++) {
		c->config[i] = strdup(o->config[i]);
		if (c->config[i] == NULL) {
			goto err;
		}
	}
	if ((o->name != NULL && (c->name = strdup(o->name)) == NULL) ||
	    (c->user_id = strdup(o->user_id != NULL ? o->user_id : "admin")) == NULL ||
	    (o->config_file != NULL && (c->config_file = strdup(o->config_file)) == NULL) ||
	    (o->key_file != NULL && (c->key_file = strdup(o->key_file)) == NULL)) {
		goto err;
	}
	return c;
err:
	rbd_cluster_free(c);
	return NULL;
}

static bool
rbd_cluster_config_has(const struct rbd_cluster *c, const char *key)
{
	char **kv;

	for (kv = c->config; *kv != NULL; kv += 2) {
		if (strcmp(kv[0], key) == 0) {
			return true;
		}
	}
	return false;
}

/* Helper thread. 0 or -errno with msg filled. */
static int
rbd_cluster_connect(struct rbd_cluster *c, char *msg, size_t len)
{
	char **kv;
	int rc;

	rc = rados_create(&c->rados, c->user_id);
	if (rc < 0) {
		snprintf(msg, len, "rados_create(%s): %s", c->user_id, strerror(-rc));
		return rc;
	}
	if (c->config_file != NULL) {
		rc = rados_conf_read_file(c->rados, c->config_file);
		if (rc < 0) {
			snprintf(msg, len, "config_file %s: %s", c->config_file, strerror(-rc));
			goto err;
		}
	} else {
		/* Ceph's default search; a host without /etc/ceph/ceph.conf is fine. */
		rados_conf_read_file(c->rados, NULL);
		rados_conf_parse_env(c->rados, NULL);
	}
	if (c->key_file != NULL) {
		rc = rados_conf_set(c->rados, "keyring", c->key_file);
		if (rc < 0) {
			snprintf(msg, len, "key_file %s: %s", c->key_file, strerror(-rc));
			goto err;
		}
	}
	/* librbd's defaults (300 s mount timeout, write-back cache) are not a daemon's. */
	rados_conf_set(c->rados, "client_mount_timeout", BDEV_RBD_DEFAULT_MOUNT_TIMEOUT);
	if (!rbd_cluster_config_has(c, "rbd_cache")) {
		rados_conf_set(c->rados, "rbd_cache", "false");
	}
	for (kv = c->config; *kv != NULL; kv += 2) {
		rc = rados_conf_set(c->rados, kv[0], kv[1]);
		if (rc < 0) {
			snprintf(msg, len, "config %s=%s: %s", kv[0], kv[1], strerror(-rc));
			goto err;
		}
	}
	rc = rados_connect(c->rados);
	if (rc < 0) {
		snprintf(msg, len, "rados_connect: %s%s", strerror(-rc),
			 rc == -ETIMEDOUT ? " (no monitor answered within client_mount_timeout)" : "");
		goto err;
	}
	c->connected = true;
	rbd_client_record(c);
	return 0;
err:
	rados_shutdown(c->rados);
	c->rados = NULL;
	return rc;
}

/* Helper thread. */
static void
rbd_cluster_disconnect(struct rbd_cluster *c)
{
	if (c->connected) {
		rados_shutdown(c->rados);
		c->connected = false;
	}
	if (c->record != NULL) {
		unlink(c->record);
	}
}

static struct rbd_cluster *
rbd_cluster_find(const char *name)
{
	struct rbd_cluster *c;

	TAILQ_FOREACH(c, &g_clusters, link) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

struct rbd_cluster_ctx {
	struct rbd_cluster	*cluster;
	bdev_rbd_done_cb	cb;
	void			*cb_arg;
	int			rc;
	char			msg[RBD_ERRMSG_LEN];
};

static void
rbd_register_work(void *arg)
{
	struct rbd_cluster_ctx *ctx = arg;

	ctx->rc = rbd_cluster_connect(ctx->cluster, ctx->msg, sizeof(ctx->msg));
}

static void
rbd_register_done(void *arg)
{
	struct rbd_cluster_ctx *ctx = arg;

	if (ctx->rc != 0) {
		VHD_ERRLOG("rbd cluster %s: %s\n", ctx->cluster->name, ctx->msg);
		TAILQ_REMOVE(&g_clusters, ctx->cluster, link);
		rbd_cluster_free(ctx->cluster);
	}
	ctx->cb(ctx->cb_arg, ctx->rc, ctx->rc != 0 ? ctx->msg : NULL);
	free(ctx);
}

static bool
rbd_name_valid(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) < 256;
}

int
bdev_rbd_register_cluster(const struct rbd_cluster_opts *opts, bdev_rbd_done_cb cb, void *cb_arg)
{
	struct rbd_cluster_ctx *ctx;
	int rc;

	if (!rbd_name_valid(opts->name)) {
		return -EINVAL;
	}
	if (rbd_cluster_find(opts->name) != NULL) {
		return -EEXIST;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->cluster = rbd_cluster_alloc(opts);
	if (ctx->cluster == NULL) {
		free(ctx);
		return opts->config != NULL ? -EINVAL : -ENOMEM;
	}
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	/* Listed at once (not yet connected) so the name is taken while connecting. */
	TAILQ_INSERT_TAIL(&g_clusters, ctx->cluster, link);
	rc = rbd_job_run(rbd_register_work, rbd_register_done, ctx);
	if (rc != 0) {
		TAILQ_REMOVE(&g_clusters, ctx->cluster, link);
		rbd_cluster_free(ctx->cluster);
		free(ctx);
	}
	return rc;
}

static void
rbd_unregister_work(void *arg)
{
	struct rbd_cluster_ctx *ctx = arg;

	rbd_cluster_disconnect(ctx->cluster);
}

static void
rbd_unregister_done(void *arg)
{
	struct rbd_cluster_ctx *ctx = arg;

	rbd_cluster_free(ctx->cluster);
	ctx->cb(ctx->cb_arg, 0, NULL);
	free(ctx);
}

int
bdev_rbd_unregister_cluster(const char *name, bdev_rbd_done_cb cb, void *cb_arg)
{
	struct rbd_cluster *c = name != NULL ? rbd_cluster_find(name) : NULL;
	struct rbd_cluster_ctx *ctx;
	int rc;

	if (c == NULL) {
		return -ENOENT;
	}
	if (!c->connected || atomic_load(&c->ref) != 0) {
		return -EBUSY;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->cluster = c;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	TAILQ_REMOVE(&g_clusters, c, link);
	rc = rbd_job_run(rbd_unregister_work, rbd_unregister_done, ctx);
	if (rc != 0) {
		TAILQ_INSERT_TAIL(&g_clusters, c, link);
		free(ctx);
	}
	return rc;
}

static struct json_object *
rbd_cluster_config_json(const struct rbd_cluster *c)
{
	struct json_object *o = json_object_new_object();
	char **kv;

	for (kv = c->config; *kv != NULL; kv += 2) {
		json_object_object_add(o, kv[0], json_object_new_string(kv[1]));
	}
	return o;
}

static struct json_object *
rbd_cluster_info(const struct rbd_cluster *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "cluster_name", json_object_new_string(c->name));
	json_object_object_add(o, "user_id", json_object_new_string(c->user_id));
	json_object_object_add(o, "config_param", rbd_cluster_config_json(c));
	if (c->config_file != NULL) {
		json_object_object_add(o, "config_file", json_object_new_string(c->config_file));
	}
	if (c->key_file != NULL) {
		json_object_object_add(o, "key_file", json_object_new_string(c->key_file));
	}
	json_object_object_add(o, "connected", json_object_new_boolean(c->connected));
	json_object_object_add(o, "bdevs", json_object_new_int64(atomic_load(&c->ref)));
	return o;
}

struct json_object *
bdev_rbd_get_clusters_info(const char *name)
{
	struct rbd_cluster *c;
	struct json_object *a;

	if (name != NULL) {
		c = rbd_cluster_find(name);
		return c != NULL ? rbd_cluster_info(c) : NULL;
	}
	a = json_object_new_array();
	TAILQ_FOREACH(c, &g_clusters, link) {
		json_object_array_add(a, rbd_cluster_info(c));
	}
	return a;
}

/* ---- I/O ---- */

static void
rbd_io_done(rbd_completion_t comp, void *arg)
{
	struct rbd_task *t = arg;
	struct rbd_channel *ch = t->ch;
	struct rbd_task *head;

	t->ret = rbd_aio_get_return_value(comp);
	rbd_aio_release(comp);
	head = atomic_load_explicit(&ch->done, memory_order_relaxed);
	do {
		t->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&ch->done, &head, t, memory_order_release,
							memory_order_relaxed));
	if (head == NULL) {
		uint64_t one = 1;

		/* The reactor may sleep in epoll on this fd. */
		if (write(ch->efd, &one, sizeof(one)) < 0) {
			/* Counter saturated: a wake-up is pending anyway. */
		}
	}
}

static int
rbd_reap(struct rbd_channel *ch)
{
	struct rbd_task *list, *rev = NULL, *t;
	int n = 0;

	list = atomic_exchange_explicit(&ch->done, NULL, memory_order_acquire);
	while (list != NULL) {
		t = list;
		list = t->next;
		t->next = rev;
		rev = t;
	}
	while (rev != NULL) {
		struct bdev_io *io;

		t = rev;
		rev = t->next;
		io = bdev_io_from_ctx(t);
		ch->inflight--;
		n++;
		if (t->ret < 0) {
			VHD_ERRLOG_RATELIMIT("%s: %s failed: %s\n", io->bdev->name,
					     bdev_io_type_name(io->type), strerror((int)-t->ret));
			bdev_io_complete_errno(io, (int)t->ret);
		} else if (io->type == BDEV_IO_TYPE_READ && (uint64_t)t->ret != bdev_io_num_bytes(io)) {
			bdev_io_complete_errno(io, -EIO);
		} else {
			bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
		}
	}
	return n;
}

static int
rbd_poll(void *arg)
{
	struct rbd_channel *ch = arg;

	if (ch->inflight == 0) {
		return POLLER_IDLE;
	}
	return rbd_reap(ch) > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
rbd_interrupt(void *arg)
{
	struct rbd_channel *ch = arg;

	thread_eventfd_drain(ch->efd);
	return rbd_reap(ch) > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
rbd_channel_create(void *io_device, void *ctx)
{
	struct rbd_channel *ch = ctx;
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->disk = io_device;
	atomic_init(&ch->done, NULL);
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		return -errno;
	}
	ch->poller = poller_register(rbd_poll, ch, 0, "bdev_rbd");
	if (ch->poller == NULL) {
		rc = -ENOMEM;
		goto err_close;
	}
	ch->intr = thread_interrupt_register(ch->efd, rbd_interrupt, ch, "bdev_rbd");
	if (ch->intr == NULL) {
		rc = -ENOMEM;
		goto err_poller;
	}
	return 0;

err_poller:
	poller_unregister(&ch->poller);
err_close:
	close(ch->efd);
	ch->efd = -1;
	return rc;
}

static void
rbd_channel_destroy(void *io_device, void *ctx)
{
	struct rbd_channel *ch = ctx;

	/* The bdev core destroys a channel only when its I/O has completed. */
	thread_interrupt_unregister(&ch->intr);
	poller_unregister(&ch->poller);
	close(ch->efd);
	ch->efd = -1;
}

static void
rbd_submit_request(struct io_channel *_ch, struct bdev_io *io)
{
	struct rbd_disk *disk = VHD_CONTAINER_OF(io->bdev, struct rbd_disk, bdev);
	struct rbd_channel *ch = io_channel_get_ctx(_ch);
	struct rbd_task *t = bdev_io_get_driver_ctx(io);
	uint64_t off = io->offset_blocks * disk->bdev.blocklen;
	uint64_t len = bdev_io_num_bytes(io);
	int rc;

	t->ch = ch;
	t->next = NULL;
	rc = rbd_aio_create_completion(t, rbd_io_done, &t->comp);
	if (rc < 0) {
		bdev_io_complete_errno(io, -ENOMEM);
		return;
	}
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		rc = rbd_aio_readv(disk->image, io->iovs, io->iovcnt, off, t->comp);
		break;
	case BDEV_IO_TYPE_WRITE:
		rc = rbd_aio_writev(disk->image, io->iovs, io->iovcnt, off, t->comp);
		break;
	case BDEV_IO_TYPE_FLUSH:
		rc = rbd_aio_flush(disk->image, t->comp);
		break;
	case BDEV_IO_TYPE_UNMAP:
		rc = rbd_aio_discard(disk->image, off, len, t->comp);
		break;
	case BDEV_IO_TYPE_WRITE_ZEROES:
		rc = rbd_aio_write_zeroes(disk->image, off, len, t->comp, 0, 0);
		break;
	default:
		rbd_aio_release(t->comp);
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOTSUP);
		return;
	}
	if (rc < 0) {
		rbd_aio_release(t->comp);
		VHD_ERRLOG_RATELIMIT("%s: submit %s: %s\n", disk->bdev.name,
				     bdev_io_type_name(io->type), strerror(-rc));
		bdev_io_complete_errno(io, rc);
		return;
	}
	ch->inflight++;
}

static bool
rbd_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_FLUSH:
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return true;
	default:
		return false;
	}
}

static struct io_channel *
rbd_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(VHD_CONTAINER_OF(bdev, struct rbd_disk, bdev));
}

/* ---- disks: open, close, resize ---- */

static void
rbd_disk_free(struct rbd_disk *disk)
{
	if (disk->private_cluster) {
		rbd_cluster_free(disk->cluster);
	}
	pthread_mutex_destroy(&disk->close_lock);
	free(disk->pool_name);
	free(disk->rbd_name);
	free(disk->bdev.name);
	free(disk);
}

/* Helper thread: everything rbd_disk_open_work set up, in reverse. */
static void
rbd_disk_close_image(struct rbd_disk *disk)
{
	if (disk->watching) {
		rbd_update_unwatch(disk->image, disk->watch_handle);
		disk->watching = false;
	}
	if (disk->image != NULL) {
		rbd_close(disk->image);
		disk->image = NULL;
	}
	if (disk->ioctx != NULL) {
		rados_ioctx_destroy(disk->ioctx);
		disk->ioctx = NULL;
	}
	if (disk->cluster != NULL) {
		atomic_fetch_sub(&disk->cluster->ref, 1);
		if (disk->private_cluster) {
			rbd_cluster_disconnect(disk->cluster);
		}
	}
}

static void rbd_resize_notify(void *arg);

/* librbd thread: the header changed (resize by us or another client). */
static void
rbd_update_cb(void *arg)
{
	rbd_send_msg(thread_get_app(), rbd_resize_notify, arg);
}

static bool
rbd_opt_true(const char *v)
{
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
	       strcmp(v, "on") == 0;
}

/*
 * Whether librbd acknowledges this image's writes before they are durable: its
 * effective rbd_cache (the config map, ceph.conf and pool/image overrides all
 * apply), unless the cache is write-through (policy writethrough or max_dirty 0).
 * Such a disk advertises a volatile write cache. Helper thread.
 */
static bool
rbd_image_write_cache(struct rbd_disk *disk)
{
	rbd_config_option_t *opts = NULL;
	bool cache = false, wt = false;
	char **kv;
	int n = 128, i, rc = -ERANGE, tries;

	for (tries = 0; tries < 4 && rc == -ERANGE; tries++) {
		free(opts);
		opts = calloc((size_t)n, sizeof(*opts));
		if (opts == NULL) {
			rc = -ENOMEM;
			break;
		}
		/* -ERANGE: n is now the number needed. */
		rc = rbd_config_image_list(disk->image, opts, &n);
	}
	if (rc < 0) {
		free(opts);
		VHD_WARNLOG("%s: rbd_config_image_list: %s (write cache from the config map)\n",
			    disk->bdev.name, strerror(-rc));
		for (kv = disk->cluster->config; *kv != NULL; kv += 2) {
			if (strcmp(kv[0], "rbd_cache") == 0) {
				cache = rbd_opt_true(kv[1]);
			}
		}
		return cache;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(opts[i].name, "rbd_cache") == 0) {
			cache = rbd_opt_true(opts[i].value);
		} else if (strcmp(opts[i].name, "rbd_cache_policy") == 0) {
			wt |= strcmp(opts[i].value, "writethrough") == 0;
		} else if (strcmp(opts[i].name, "rbd_cache_max_dirty") == 0) {
			wt |= strcmp(opts[i].value, "0") == 0;
		}
	}
	rbd_config_image_list_cleanup(opts, n);
	free(opts);
	return cache && !wt;
}

struct rbd_create_ctx {
	struct rbd_disk		*disk;
	struct rbd_pending_name	pending;
	bdev_rbd_create_cb	cb;
	void			*cb_arg;
	int			rc;
	char			msg[RBD_ERRMSG_LEN];
};

static void
rbd_create_work(void *arg)
{
	struct rbd_create_ctx *ctx = arg;
	struct rbd_disk *disk = ctx->disk;
	uint64_t size;
	int rc;

	if (disk->private_cluster) {
		rc = rbd_cluster_connect(disk->cluster, ctx->msg, sizeof(ctx->msg));
		if (rc != 0) {
			ctx->rc = rc;
			return;
		}
	}
	rc = rados_ioctx_create(disk->cluster->rados, disk->pool_name, &disk->ioctx);
	if (rc < 0) {
		snprintf(ctx->msg, sizeof(ctx->msg), "pool %s: %s", disk->pool_name,
			 rc == -ENOENT ? "no such pool" : strerror(-rc));
		disk->ioctx = NULL;
		goto err;
	}
	rc = rbd_open(disk->ioctx, disk->rbd_name, &disk->image, NULL);
	if (rc < 0) {
		snprintf(ctx->msg, sizeof(ctx->msg), "image %s/%s: %s", disk->pool_name,
			 disk->rbd_name, rc == -ENOENT ? "no such image" : strerror(-rc));
		disk->image = NULL;
		goto err;
	}
	rc = rbd_get_size(disk->image, &size);
	if (rc < 0) {
		snprintf(ctx->msg, sizeof(ctx->msg), "image %s/%s: size: %s", disk->pool_name,
			 disk->rbd_name, strerror(-rc));
		goto err;
	}
	disk->bdev.blockcnt = size / disk->bdev.blocklen;
	if (disk->bdev.blockcnt == 0) {
		rc = -EINVAL;
		snprintf(ctx->msg, sizeof(ctx->msg), "image %s/%s: smaller than one block",
			 disk->pool_name, disk->rbd_name);
		goto err;
	}
	rbd_release_own_leftover_lock(disk);
	rbd_break_stale_lock(disk);
	rc = rbd_update_watch(disk->image, &disk->watch_handle, rbd_update_cb, disk);
	if (rc < 0) {
		VHD_WARNLOG("%s: rbd_update_watch: %s (resizes by other clients go unseen)\n",
			    disk->bdev.name, strerror(-rc));
	} else {
		disk->watching = true;
	}
	disk->write_cache = rbd_image_write_cache(disk);
	ctx->rc = 0;
	return;
err:
	ctx->rc = rc;
	rbd_disk_close_image(disk);
}

static const struct bdev_fn_table rbd_fn_table;

static void
rbd_failed_close_work(void *arg)
{
	rbd_disk_close_image(arg);
}

static void
rbd_failed_close_done(void *arg)
{
	rbd_disk_free(arg);
}

static void
rbd_create_done(void *arg)
{
	struct rbd_create_ctx *ctx = arg;
	struct rbd_disk *disk = ctx->disk;
	int rc = ctx->rc;

	TAILQ_REMOVE(&g_pending, &ctx->pending, link);
	if (rc != 0) {
		VHD_ERRLOG("%s: %s\n", disk->bdev.name, ctx->msg);
		ctx->cb(ctx->cb_arg, NULL, rc, ctx->msg);
		rbd_disk_free(disk);
		free(ctx);
		return;
	}
	disk->bdev.write_cache = disk->write_cache;
	io_device_register(disk, rbd_channel_create, rbd_channel_destroy,
			   sizeof(struct rbd_channel), disk->bdev.name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		snprintf(ctx->msg, sizeof(ctx->msg), "bdev_register: %s", strerror(-rc));
		io_device_unregister(disk, NULL);
		/* The image is open: close it off the reactor, then free. */
		disk->closing = true;
		ctx->cb(ctx->cb_arg, NULL, rc, ctx->msg);
		free(ctx);
		if (rbd_job_run(rbd_failed_close_work, rbd_failed_close_done, disk) != 0) {
			VHD_ERRLOG("%s: cannot start close thread: image left open\n",
				   disk->bdev.name);
		}
		return;
	}
	TAILQ_INSERT_TAIL(&g_disks, disk, link);
	VHD_NOTICELOG("%s: rbd %s/%s, %" PRIu64 " blocks of %u%s\n", disk->bdev.name,
		      disk->pool_name, disk->rbd_name, disk->bdev.blockcnt, disk->bdev.blocklen,
		      disk->write_cache ? ", rbd_cache on (write cache advertised)" : "");
	ctx->cb(ctx->cb_arg, &disk->bdev, 0, NULL);
	free(ctx);
}

static bool
rbd_name_taken(const char *name)
{
	struct rbd_pending_name *p;

	if (bdev_get_by_name(name) != NULL) {
		return true;
	}
	TAILQ_FOREACH(p, &g_pending, link) {
		if (strcmp(p->name, name) == 0) {
			return true;
		}
	}
	return false;
}

int
bdev_rbd_create(const struct rbd_bdev_opts *opts, bdev_rbd_create_cb cb, void *cb_arg)
{
	struct rbd_create_ctx *ctx;
	struct rbd_disk *disk;
	struct rbd_cluster *c = NULL;
	uint32_t bs = opts->block_size != 0 ? opts->block_size : 512;
	char gen[32];
	int rc;

	if (!rbd_name_valid(opts->pool_name) || !rbd_name_valid(opts->rbd_name) ||
	    (opts->name != NULL && !rbd_name_valid(opts->name)) || bs < 512 || bs > 65536 ||
	    (bs & (bs - 1)) != 0) {
		return -EINVAL;
	}
	if (opts->cluster_name != NULL) {
		c = rbd_cluster_find(opts->cluster_name);
		if (c == NULL || !c->connected) {
			return -ENOENT;
		}
	}
	if (c != NULL) {
		struct rbd_disk *d;
		bool busy = false;

		TAILQ_FOREACH(d, &g_disks, link) {
			busy |= d->cluster == c && strcmp(d->pool_name, opts->pool_name) == 0 &&
				strcmp(d->rbd_name, opts->rbd_name) == 0;
		}
		pthread_mutex_lock(&g_closing_lock);
		TAILQ_FOREACH(d, &g_closing, link) {
			busy |= d->cluster == c && strcmp(d->pool_name, opts->pool_name) == 0 &&
				strcmp(d->rbd_name, opts->rbd_name) == 0;
		}
		pthread_mutex_unlock(&g_closing_lock);
		if (busy) {
			return -EBUSY;
		}
	}
	if (opts->name == NULL) {
		do {
			snprintf(gen, sizeof(gen), "Ceph%u", g_name_seq++);
		} while (rbd_name_taken(gen));
	} else if (rbd_name_taken(opts->name)) {
		return -EEXIST;
	}
	ctx = calloc(1, sizeof(*ctx));
	disk = calloc(1, sizeof(*disk));
	if (ctx == NULL || disk == NULL) {
		free(ctx);
		free(disk);
		return -ENOMEM;
	}
	pthread_mutex_init(&disk->close_lock, NULL);
	ctx->disk = disk;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	disk->bdev.name = strdup(opts->name != NULL ? opts->name : gen);
	disk->pool_name = strdup(opts->pool_name);
	disk->rbd_name = strdup(opts->rbd_name);
	if (c == NULL) {
		disk->cluster = rbd_cluster_alloc(&opts->cluster);
		disk->private_cluster = true;
	} else {
		disk->cluster = c;
	}
	if (disk->bdev.name == NULL || disk->pool_name == NULL || disk->rbd_name == NULL ||
	    disk->cluster == NULL) {
		rc = disk->cluster == NULL && opts->cluster.config != NULL ? -EINVAL : -ENOMEM;
		goto err;
	}
	atomic_fetch_add(&disk->cluster->ref, 1);
	disk->bdev.product_name = "Ceph Rbd Disk";
	disk->bdev.blocklen = bs;
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &rbd_fn_table;
	disk->bdev.module = &g_rbd_module;
	ctx->pending.name = disk->bdev.name;
	TAILQ_INSERT_TAIL(&g_pending, &ctx->pending, link);
	rc = rbd_job_run(rbd_create_work, rbd_create_done, ctx);
	if (rc != 0) {
		TAILQ_REMOVE(&g_pending, &ctx->pending, link);
		atomic_fetch_sub(&disk->cluster->ref, 1);
		goto err;
	}
	return 0;
err:
	if (disk->private_cluster && disk->cluster == NULL) {
		disk->private_cluster = false;
	}
	rbd_disk_free(disk);
	free(ctx);
	return rc;
}

int
bdev_rbd_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_rbd_module, cb, cb_arg);
}

static void rbd_close_start(struct rbd_disk *disk);

static void
rbd_close_done(void *arg)
{
	struct rbd_disk *disk = arg;

	poller_unregister(&disk->close_timer);
	bdev_destruct_done(&disk->bdev, 0);
	rbd_disk_free(disk);
}

/* Close thread. The app thread's deadline may have given up on us already. */
static void
rbd_close_work(void *arg)
{
	struct rbd_disk *disk = arg;
	bool abandoned;

	rbd_disk_close_image(disk);
	pthread_mutex_lock(&g_closing_lock);
	TAILQ_REMOVE(&g_closing, disk, link);
	pthread_mutex_unlock(&g_closing_lock);
	pthread_mutex_lock(&disk->close_lock);
	disk->close_done = true;
	abandoned = disk->close_abandoned;
	pthread_mutex_unlock(&disk->close_lock);
	if (abandoned) {
		VHD_NOTICELOG("%s: detached rbd_close finished\n", disk->bdev.name);
		rbd_disk_free(disk);
		return;
	}
	rbd_send_msg(disk->close_thread, rbd_close_done, disk);
}

static int
rbd_close_deadline(void *arg)
{
	struct rbd_disk *disk = arg;
	bool done;

	poller_unregister(&disk->close_timer);
	pthread_mutex_lock(&disk->close_lock);
	done = disk->close_done;
	disk->close_abandoned = !done;
	pthread_mutex_unlock(&disk->close_lock);
	if (done) {
		/* rbd_close_done is on its way. */
		return POLLER_BUSY;
	}
	VHD_WARNLOG("%s: rbd_close did not return within %u ms (cluster unreachable?): "
		    "detached, the image is released when librbd lets go\n", disk->bdev.name,
		    BDEV_RBD_CLOSE_WAIT_MS);
	bdev_destruct_done(&disk->bdev, 0);
	return POLLER_BUSY;
}

static void
rbd_close_start(struct rbd_disk *disk)
{
	disk->close_thread = thread_get_current();
	pthread_mutex_lock(&g_closing_lock);
	TAILQ_INSERT_TAIL(&g_closing, disk, link);
	pthread_mutex_unlock(&g_closing_lock);
	disk->close_timer = poller_register(rbd_close_deadline, disk,
					    (uint64_t)BDEV_RBD_CLOSE_WAIT_MS * 1000,
					    "bdev_rbd_close");
	if (rbd_job_run(rbd_close_work, NULL, disk) != 0) {
		VHD_ERRLOG("%s: cannot start close thread: image left open\n", disk->bdev.name);
		pthread_mutex_lock(&g_closing_lock);
		TAILQ_REMOVE(&g_closing, disk, link);
		pthread_mutex_unlock(&g_closing_lock);
		poller_unregister(&disk->close_timer);
		bdev_destruct_done(&disk->bdev, 0);
	}
}

static void
rbd_io_device_unregistered(void *io_device)
{
	struct rbd_disk *disk = io_device;

	disk->io_device_gone = true;
	if (disk->jobs == 0) {
		rbd_close_start(disk);
	}
	/* Else the last size check starts the close. */
}

static int
rbd_destruct(struct bdev *bdev)
{
	struct rbd_disk *disk = VHD_CONTAINER_OF(bdev, struct rbd_disk, bdev);

	disk->closing = true;
	TAILQ_REMOVE(&g_disks, disk, link);
	io_device_unregister(disk, rbd_io_device_unregistered);
	return 1;
}

/* Size checks after a header update: rbd_get_size may refresh over the network. */
struct rbd_size_ctx {
	struct rbd_disk		*disk;
	uint64_t		size;
	int			rc;
	bdev_rbd_done_cb	cb;	/* bdev_rbd_resize's, or NULL */
	void			*cb_arg;
	uint64_t		new_size;	/* bytes, for bdev_rbd_resize */
};

static void
rbd_size_work(void *arg)
{
	struct rbd_size_ctx *ctx = arg;

	ctx->rc = 0;
	if (ctx->new_size != 0) {
		ctx->rc = rbd_resize(ctx->disk->image, ctx->new_size);
	}
	if (ctx->rc == 0) {
		ctx->rc = rbd_get_size(ctx->disk->image, &ctx->size);
	}
}

static void
rbd_size_done(void *arg)
{
	struct rbd_size_ctx *ctx = arg;
	struct rbd_disk *disk = ctx->disk;
	uint64_t blocks = ctx->size / disk->bdev.blocklen;
	int rc = ctx->rc;
	char msg[RBD_ERRMSG_LEN] = "";

	disk->jobs--;
	if (rc == 0 && blocks != disk->bdev.blockcnt && blocks != 0 && !disk->closing) {
		rc = bdev_notify_blockcnt_change(&disk->bdev, blocks);
		if (rc == 0) {
			VHD_NOTICELOG("%s: resized to %" PRIu64 " blocks\n", disk->bdev.name,
				      blocks);
		} else {
			snprintf(msg, sizeof(msg), "bdev resize: %s", strerror(-rc));
			VHD_WARNLOG("%s: image is %" PRIu64 " bytes: %s\n", disk->bdev.name,
				    ctx->size, msg);
		}
	} else if (rc != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", ctx->new_size != 0 ? "rbd_resize" :
			 "rbd_get_size", strerror(-rc));
		VHD_WARNLOG("%s: %s\n", disk->bdev.name, msg);
	}
	if (ctx->cb != NULL) {
		ctx->cb(ctx->cb_arg, rc, rc != 0 ? msg : NULL);
	}
	free(ctx);
	if (disk->io_device_gone && disk->jobs == 0) {
		rbd_close_start(disk);
	}
}

static int
rbd_size_start(struct rbd_disk *disk, uint64_t new_size, bdev_rbd_done_cb cb, void *cb_arg)
{
	struct rbd_size_ctx *ctx;
	int rc;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->disk = disk;
	ctx->new_size = new_size;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	disk->jobs++;
	rc = rbd_job_run(rbd_size_work, rbd_size_done, ctx);
	if (rc != 0) {
		disk->jobs--;
		free(ctx);
	}
	return rc;
}

static void
rbd_resize_notify(void *arg)
{
	struct rbd_disk *disk = arg, *d;

	/* The disk may be gone: only trust a pointer still in the list. */
	TAILQ_FOREACH(d, &g_disks, link) {
		if (d == disk) {
			break;
		}
	}
	if (d == NULL || disk->closing) {
		return;
	}
	rbd_size_start(disk, 0, NULL, NULL);
}

int
bdev_rbd_resize(const char *name, uint64_t new_size_mib, bdev_rbd_done_cb cb, void *cb_arg)
{
	struct bdev *bdev = name != NULL ? bdev_get_by_name(name) : NULL;
	struct rbd_disk *disk;
	uint64_t bytes;

	if (bdev == NULL || bdev->module != &g_rbd_module) {
		return -ENODEV;
	}
	disk = VHD_CONTAINER_OF(bdev, struct rbd_disk, bdev);
	if (disk->closing) {
		return -ENODEV;
	}
	if (new_size_mib == 0 || new_size_mib > (UINT64_MAX >> 20)) {
		return -EINVAL;
	}
	bytes = new_size_mib << 20;
	if (bytes / bdev->blocklen < bdev->blockcnt) {
		return -EINVAL;
	}
	return rbd_size_start(disk, bytes, cb, cb_arg);
}

/* ---- info and config ---- */

static void
rbd_dump_info_json(struct bdev *bdev, struct json_object *ds)
{
	struct rbd_disk *disk = VHD_CONTAINER_OF(bdev, struct rbd_disk, bdev);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pool_name", json_object_new_string(disk->pool_name));
	json_object_object_add(o, "rbd_name", json_object_new_string(disk->rbd_name));
	if (!disk->private_cluster) {
		json_object_object_add(o, "cluster_name",
				       json_object_new_string(disk->cluster->name));
	} else {
		json_object_object_add(o, "user_id",
				       json_object_new_string(disk->cluster->user_id));
		json_object_object_add(o, "config", rbd_cluster_config_json(disk->cluster));
	}
	json_object_object_add(ds, "rbd", o);
}

static bool
rbd_config_has_cluster(struct json_object *config, const char *name)
{
	size_t i, n = json_object_array_length(config);

	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(config, i), *m, *p, *nm;

		if (json_object_object_get_ex(e, "method", &m) &&
		    strcmp(json_object_get_string(m), "bdev_rbd_register_cluster") == 0 &&
		    json_object_object_get_ex(e, "params", &p) &&
		    json_object_object_get_ex(p, "name", &nm) &&
		    strcmp(json_object_get_string(nm), name) == 0) {
			return true;
		}
	}
	return false;
}

static void
rbd_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct rbd_disk *disk = VHD_CONTAINER_OF(bdev, struct rbd_disk, bdev);
	struct rbd_cluster *c;
	struct json_object *p;
	char uuid[37];

	/* Clusters first (all of them, once per document): the bdevs refer to them. */
	TAILQ_FOREACH(c, &g_clusters, link) {
		if (!c->connected || rbd_config_has_cluster(config, c->name)) {
			continue;
		}
		p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(c->name));
		json_object_object_add(p, "user_id", json_object_new_string(c->user_id));
		json_object_object_add(p, "config_param", rbd_cluster_config_json(c));
		if (c->config_file != NULL) {
			json_object_object_add(p, "config_file",
					       json_object_new_string(c->config_file));
		}
		if (c->key_file != NULL) {
			json_object_object_add(p, "key_file", json_object_new_string(c->key_file));
		}
		rpc_config_add(config, "bdev_rbd_register_cluster", p);
	}
	p = json_object_new_object();
	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(p, "name", json_object_new_string(bdev->name));
	json_object_object_add(p, "pool_name", json_object_new_string(disk->pool_name));
	json_object_object_add(p, "rbd_name", json_object_new_string(disk->rbd_name));
	json_object_object_add(p, "block_size", json_object_new_int64(bdev->blocklen));
	if (!disk->private_cluster) {
		json_object_object_add(p, "cluster_name",
				       json_object_new_string(disk->cluster->name));
	} else {
		json_object_object_add(p, "user_id",
				       json_object_new_string(disk->cluster->user_id));
		json_object_object_add(p, "config", rbd_cluster_config_json(disk->cluster));
	}
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_rbd_create", p);
}

static const struct bdev_fn_table rbd_fn_table = {
	.destruct		= rbd_destruct,
	.submit_request		= rbd_submit_request,
	.io_type_supported	= rbd_io_type_supported,
	.get_io_channel		= rbd_get_io_channel,
	.dump_info_json		= rbd_dump_info_json,		/* optional */
	.write_config_json	= rbd_write_config_json,	/* optional */
};

/* App thread, at shutdown, after every bdev is gone: nothing may block here for long. */
static void
rbd_module_fini(void)
{
	struct rbd_cluster *c;

	while ((c = TAILQ_FIRST(&g_clusters)) != NULL) {
		TAILQ_REMOVE(&g_clusters, c, link);
		if (atomic_load(&c->ref) != 0) {
			/* A detached close still uses it: the process exit reclaims it. */
			VHD_WARNLOG("rbd cluster %s: still in use by a detached close\n", c->name);
			continue;
		}
		rbd_cluster_disconnect(c);
		rbd_cluster_free(c);
	}
}

BDEV_MODULE_REGISTER(rbd, &g_rbd_module);

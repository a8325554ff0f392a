/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Subsystems: the daemon's start-up and shutdown order, and save_config.
 *
 * vhostd initialises every registered subsystem in ascending `order` on the
 * app thread once the reactors run (bdev 10, scsi 20, vhost 30), and
 * finalises them in descending order on shutdown. save_config emits
 * {"subsystem": name, "config": [...]} for each, in ascending order.
 * Implemented in lib/rpc/subsystem.c.
 */
#ifndef VHOSTD_SUBSYSTEM_H
#define VHOSTD_SUBSYSTEM_H

struct json_object;

struct subsystem {
	const char	*name;
	int		order;
	/* Optional. App thread; 0 or -errno (start-up then fails naming the subsystem). */
	int		(*init)(void);
	/* Optional. App thread; may finish asynchronously but must call done() exactly once. */
	void		(*fini)(void (*done)(void));
	/* Optional. Append {"method","params"} entries with rpc_config_add(). App thread. */
	void		(*write_config)(struct json_object *config);
	struct subsystem *next;
};

void subsystem_register(struct subsystem *subsystem);
#define SUBSYSTEM_REGISTER(var)                                                                   \
	__attribute__((constructor)) static void subsystem_register_##var(void)                  \
	{                                                                                         \
		subsystem_register(&var);                                                         \
	}

/* Init all in order; 0 or the first failure's -errno (already logged). App thread. */
int subsystem_init_all(void);
/* Fini all initialised subsystems in reverse order, then done(). App thread. */
void subsystem_fini_all(void (*done)(void));
struct subsystem *subsystem_first(void);	/* ascending order */
struct subsystem *subsystem_next(struct subsystem *s);

/*
 * Daemon options that libraries below the app need (set by app/vhostd before
 * subsystem_init_all): "vhost_sock_dir", "state_file", "cpumask". NULL if unset.
 */
void subsystem_set_option(const char *key, const char *value);
const char *subsystem_get_option(const char *key);

#endif /* VHOSTD_SUBSYSTEM_H */

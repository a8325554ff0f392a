/* SPDX-License-Identifier: BSD-3-Clause */
/* Subsystem registry: start-up order, shutdown in reverse, daemon options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "vhostd/subsystem.h"

#define SUBSYSTEM_MAX_OPTIONS 16

struct subsystem_option {
	char	*key;
	char	*value;
};

static struct subsystem *g_subsystems;		/* ascending order */
static struct subsystem *g_fini_next;		/* next to finalise, walking down */
static int g_num_initialised;			/* prefix of the list that init'ed */
static void (*g_fini_done)(void);
static struct subsystem_option g_options[SUBSYSTEM_MAX_OPTIONS];

void
subsystem_register(struct subsystem *s)
{
	struct subsystem **pp;

	for (pp = &g_subsystems; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, s->name) == 0) {
			fprintf(stderr, "vhostd: subsystem %s registered twice\n", s->name);
			abort();
		}
	}
	/* Insert after every subsystem of lower or equal order (stable). */
	for (pp = &g_subsystems; *pp != NULL && (*pp)->order <= s->order; pp = &(*pp)->next) {
	}
	s->next = *pp;
	*pp = s;
}

struct subsystem *
subsystem_first(void)
{
	return g_subsystems;
}

struct subsystem *
subsystem_next(struct subsystem *s)
{
	return s->next;
}

int
subsystem_init_all(void)
{
	struct subsystem *s;
	int rc;

	g_num_initialised = 0;
	for (s = g_subsystems; s != NULL; s = s->next) {
		if (s->init != NULL) {
			rc = s->init();
			if (rc != 0) {
				VHD_ERRLOG("subsystem %s failed to initialise: %s\n", s->name,
					   strerror(rc < 0 ? -rc : rc));
				return rc < 0 ? rc : -rc;
			}
		}
		g_num_initialised++;
	}
	return 0;
}

/* The initialised subsystem just below `s` in order (NULL: start from the top). */
static struct subsystem *
subsystem_prev_initialised(struct subsystem *s)
{
	struct subsystem *it, *prev = NULL;
	int i = 0;

	for (it = g_subsystems; it != NULL && i < g_num_initialised && it != s; it = it->next) {
		prev = it;
		i++;
	}
	return prev;
}

static void subsystem_fini_step(void);

static void
subsystem_fini_done_one(void)
{
	subsystem_fini_step();
}

static void
subsystem_fini_step(void)
{
	struct subsystem *s;
	void (*done)(void);

	while ((s = g_fini_next) != NULL) {
		g_fini_next = subsystem_prev_initialised(s);
		if (s->fini != NULL) {
			s->fini(subsystem_fini_done_one);
			return;
		}
	}
	g_num_initialised = 0;
	done = g_fini_done;
	g_fini_done = NULL;
	if (done != NULL) {
		done();
	}
}

void
subsystem_fini_all(void (*done)(void))
{
	g_fini_done = done;
	g_fini_next = subsystem_prev_initialised(NULL);
	subsystem_fini_step();
}

void
subsystem_set_option(const char *key, const char *value)
{
	int i, free_slot = -1;

	for (i = 0; i < SUBSYSTEM_MAX_OPTIONS; i++) {
		if (g_options[i].key != NULL && strcmp(g_options[i].key, key) == 0) {
			break;
		}
		if (g_options[i].key == NULL && free_slot < 0) {
			free_slot = i;
		}
	}
	if (i == SUBSYSTEM_MAX_OPTIONS) {
		if (free_slot < 0) {
			VHD_ERRLOG("subsystem: too many options, %s dropped\n", key);
			return;
		}
		i = free_slot;
		g_options[i].key = strdup(key);
	}
	free(g_options[i].value);
	g_options[i].value = value != NULL ? strdup(value) : NULL;
}

const char *
subsystem_get_option(const char *key)
{
	int i;

	for (i = 0; i < SUBSYSTEM_MAX_OPTIONS; i++) {
		if (g_options[i].key != NULL && strcmp(g_options[i].key, key) == 0) {
			return g_options[i].value;
		}
	}
	return NULL;
}

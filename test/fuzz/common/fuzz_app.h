/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets that run RPCs on a polled app thread (rpc_params_fuzz,
 * config_load_fuzz): poll until a flag is set, and the resource cap on requests.
 */
#ifndef FUZZ_APP_H
#define FUZZ_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "vhostd/thread.h"

/*
 * Poll `t` until *flag is set (trap if that never happens: a call that never
 * completes), or with flag NULL until it has no more work.
 */
static inline void
fuzz_app_poll(struct thread *t, const int *flag)
{
	int i;

	for (i = 0; i < 1000000; i++) {
		if (flag != NULL && *flag) {
			return;
		}
		if (thread_poll(t, 0) != POLLER_BUSY && !thread_has_msgs(t) && flag == NULL) {
			return;
		}
	}
	if (flag != NULL) {
		__builtin_trap();
	}
}

/*
 * Requests an operator may legitimately make but which would only measure this
 * machine's memory: bdev_malloc_create above 64 MiB.
 */
static inline bool
fuzz_app_call_too_big(const char *method, struct json_object *params)
{
	struct json_object *nb, *bs;

	if (strcmp(method, "bdev_malloc_create") == 0 && params != NULL &&
	    json_object_is_type(params, json_type_object) &&
	    json_object_object_get_ex(params, "num_blocks", &nb) &&
	    json_object_object_get_ex(params, "block_size", &bs)) {
		uint64_t n = (uint64_t)json_object_get_int64(nb);
		uint64_t b = (uint64_t)json_object_get_int64(bs);

		return b != 0 && n > (64ull << 20) / b;
	}
	return false;
}

#endif /* FUZZ_APP_H */

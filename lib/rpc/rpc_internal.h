/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/rpc. */
#ifndef VHOSTD_RPC_INTERNAL_H
#define VHOSTD_RPC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"

/* Visit every registered name (aliases too, with the target's mask). */
void rpc_method_foreach(void (*fn)(const char *name, uint32_t mask, bool is_alias, void *ctx),
			void *ctx);
/* {"subsystem": name, "config": [...]} for one subsystem. */
struct json_object *rpc_subsystem_config(struct subsystem *s);

#endif /* VHOSTD_RPC_INTERNAL_H */

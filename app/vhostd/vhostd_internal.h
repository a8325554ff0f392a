/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared between vhostd.c (start-up, shutdown) and vhostd_rpc.c (framework methods). */
#ifndef VHOSTD_APP_INTERNAL_H
#define VHOSTD_APP_INTERNAL_H

#include <stdbool.h>

/* Initialise subsystems and replay configs; done(rc, message) on the app thread. */
void vhostd_framework_start(void (*done)(void *ctx, int rc, const char *message), void *ctx);
bool vhostd_framework_started(void);
/* Begin the clean shutdown (app thread); the process exits with `exit_code`. */
void vhostd_shutdown(int exit_code);
/* framework_wait_init requests still waiting: answered with an error at shutdown. */
void vhostd_rpc_fail_waiters(void);
void vhostd_rpc_wake_waiters(void);

#endif /* VHOSTD_APP_INTERNAL_H */

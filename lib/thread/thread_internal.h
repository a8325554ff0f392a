/* SPDX-License-Identifier: BSD-3-Clause */
/* Tunables of lib/thread, shared with its unit tests and benchmark. */
#ifndef VHOSTD_THREAD_INTERNAL_H
#define VHOSTD_THREAD_INTERNAL_H

/* Slots of each thread's message ring (bounded, no malloc per message). */
#define THREAD_MSG_RING_SIZE 16384
/* Messages run per thread_poll() when the caller passes 0. */
#define THREAD_MSG_BATCH 64
/* Poll and adaptive modes look at fds (epoll_wait 0) this often. */
#define THREAD_FD_CHECK_US 1000
/*
 * Adaptive mode sleeps once no iteration has been busy for this long. 1 ms:
 * long enough that a queue-depth-1 guest (tens of microseconds between
 * requests) keeps the reactor polling, short enough that a wake-up whose
 * pollers find nothing to do costs ~nothing (the idle spell is measured from
 * the last *busy* iteration, so an idle wake-up goes straight back to sleep).
 */
#define THREAD_ADAPTIVE_IDLE_US 1000
/*
 * ... unless the work is sparse: when the moving average of the idle gaps
 * that end in work exceeds THREAD_ADAPTIVE_SPARSE_US, it sleeps as soon as an
 * iteration finds nothing to do (a wake-up costs less than polling through
 * such a gap). A gap is measured from the end of one burst of busy iterations
 * to the start of the next: the iterations of one burst (a request popped, its
 * completion delivered by a message) are one piece of work. The average weighs
 * each gap 1/8, capped at THREAD_ADAPTIVE_GAP_CAP_US so one long sleep does not
 * outweigh many short gaps.
 *
 * No polling spell after sparse work: every nanosecond of it is paid on each
 * sparse request (null bdev behind vhost-blk at a fixed 100K IOPS: 0.47 CPU-s/s
 * with a 2 us spell, 0.32 with 0.5 us, 0.27 with none, which is what interrupt
 * mode costs). A queue-depth-1 client does not need it: its next request comes
 * ~1 us after the completion, plus the wake-up when the reactor slept, which is
 * still under THREAD_ADAPTIVE_SPARSE_US, so the first such gaps turn it dense.
 */
#define THREAD_ADAPTIVE_SPARSE_US 5
#define THREAD_ADAPTIVE_GAP_CAP_US 16
#define THREAD_ADAPTIVE_GAP_WEIGHT 8

#endif /* VHOSTD_THREAD_INTERNAL_H */

# SPDX-License-Identifier: BSD-3-Clause
# call-churn: replaces a queue's call eventfd under I/O as QEMU does on MSI-X
# (un)masking and counts completions whose call was lost.
APPS += test/functional/vhost/call-churn
test/functional/vhost/call-churn_SRCS := test/functional/vhost/call-churn.c
test/functional/vhost/call-churn_LIBS := virtio util
# inflight-replace: hostile GET/SET_INFLIGHT_FD while queues run (bad regions
# refused, requests in flight drained, queues restart on SET_VRING_KICK).
APPS += test/functional/vhost/inflight-replace
test/functional/vhost/inflight-replace_SRCS := test/functional/vhost/inflight-replace.c
test/functional/vhost/inflight-replace_LIBS := virtio util

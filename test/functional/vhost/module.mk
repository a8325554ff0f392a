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
# blk-wce: the guest's write cache switch (CONFIG_WCE) as QEMU forwards it
# (SET_CONFIG of the wce byte), hostile SET_CONFIGs, writes in either mode.
APPS += test/functional/vhost/blk-wce
test/functional/vhost/blk-wce_SRCS := test/functional/vhost/blk-wce.c
test/functional/vhost/blk-wce_LIBS := virtio util

# SPDX-License-Identifier: BSD-3-Clause
# call-churn: replaces a queue's call eventfd under I/O as QEMU does on MSI-X
# (un)masking and counts completions whose call was lost.
APPS += test/functional/vhost/call-churn
test/functional/vhost/call-churn_SRCS := test/functional/vhost/call-churn.c
test/functional/vhost/call-churn_LIBS := virtio util

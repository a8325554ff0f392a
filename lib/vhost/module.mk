# SPDX-License-Identifier: BSD-3-Clause
LIBS += vhost
vhost_SRCS := $(wildcard lib/vhost/*.c)
vhost_PKGS := json-c
vhost_CFLAGS := $(DPDK_CFLAGS)
# Debian 22.11 has no librte_log (logging lives in EAL): list what rte_vhost needs.
vhost_LDLIBS := -lrte_vhost -lrte_eal -lrte_kvargs -lrte_telemetry

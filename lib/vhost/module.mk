# SPDX-License-Identifier: BSD-3-Clause
LIBS += vhost
vhost_SRCS := $(wildcard lib/vhost/*.c)
vhost_PKGS := json-c
vhost_CFLAGS := $(DPDK_CFLAGS)
# DPDK is linked statically: a shared DPDK makes rte_eal_init dlopen() every PMD
# in its plugin directory (~160 libraries, 0.3-0.8 s here); static skips that.
# Debian 22.11 has no librte_log (logging lives in EAL); rte_vhost's own
# dependencies are listed explicitly. libbsd provides strlcpy for the archives.
vhost_LDLIBS := -Wl,-Bstatic -lrte_vhost -lrte_cryptodev -lrte_dmadev -lrte_hash -lrte_pci \
	-lrte_ethdev -lrte_meter -lrte_net -lrte_mbuf -lrte_mempool -lrte_rcu -lrte_ring \
	-lrte_eal -lrte_telemetry -lrte_kvargs -Wl,-Bdynamic -lbsd -lnuma -ldl

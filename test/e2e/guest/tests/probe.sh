# SPDX-License-Identifier: BSD-3-Clause
# Smallest guest test: the guest booted and loaded its modules (KVM probe).
vhd_pass "booted"

# SPDX-License-Identifier: BSD-3-Clause
# A guest test that never finishes: test_harness.sh proves that the guest
# watchdog reports it and takes the guest down by itself.
vhd_pass "about to hang"
while :; do
	sleep 1000
done

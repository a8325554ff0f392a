# SPDX-License-Identifier: BSD-3-Clause
# Helpers for guest test scripts (sourced by /init). Result protocol on the
# serial console, one line each:
#   VHD-RESULT: PASS <what>
#   VHD-RESULT: FAIL <what>
#   VHD-DONE                 (last line; the host requires it)
# The host fails the run on any FAIL, on no PASS at all, or without VHD-DONE.
vhd_nfail=0

# Guest uptime in seconds, without forking.
vhd_uptime()
{
	local up rest
	read -r up rest </proc/uptime
	echo "$up"
}

vhd_pass()
{
	local up rest
	read -r up rest </proc/uptime
	echo "VHD-RESULT: PASS $* [t=$up]"
}

vhd_fail()
{
	local up rest
	read -r up rest </proc/uptime
	vhd_nfail=$((vhd_nfail + 1))
	echo "VHD-RESULT: FAIL $* [t=$up]"
}

# vhd_check WHAT CMD...: run CMD (output on the console), PASS if it exits 0.
vhd_check()
{
	local what=$1
	shift
	if "$@"; then
		vhd_pass "$what"
	else
		vhd_fail "$what (exit $?: $*)"
	fi
}

# vhd_check_fails WHAT CMD...: PASS if CMD fails (e.g. a write to a ro disk).
vhd_check_fails()
{
	local what=$1
	shift
	if "$@"; then
		vhd_fail "$what (unexpectedly succeeded: $*)"
	else
		vhd_pass "$what"
	fi
}

# Whole seconds of uptime, without forking (deadlines for bounded waits).
vhd_now()
{
	local up rest
	read -r up rest </proc/uptime
	echo "${up%.*}"
}

# vhd_wait_for PATH SECONDS: poll (bounded) until PATH exists.
vhd_wait_for()
{
	local deadline=$(($(vhd_now) + $2))
	while [ ! -e "$1" ]; do
		[ "$(vhd_now)" -ge $deadline ] && return 1
		usleep 100000
	done
	return 0
}

# vhd_off: immediate reset without device shutdown (a hung device cannot
# block it); QEMU exits because it runs with -no-reboot.
vhd_off()
{
	echo 1 >/proc/sys/kernel/sysrq
	echo b >/proc/sysrq-trigger
}

# Bounded sync, then power off (the host sees QEMU exit).
vhd_finish()
{
	echo "VHD-DONE fails=$vhd_nfail uptime=$(vhd_uptime)"
	timeout 20 sync
	# poweroff -f can hang in a device's shutdown: reset after 10 s then.
	(sleep 10 && vhd_off) &
	poweroff -f
	sleep 30
}

# Bounded sync, then reset (reboot tests: QEMU runs without -no-reboot).
vhd_reboot()
{
	echo "VHD-REBOOTING uptime=$(vhd_uptime)"
	timeout 20 sync
	reboot -f
	sleep 5
}

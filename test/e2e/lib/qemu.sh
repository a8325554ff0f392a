# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Boot the e2e guest in QEMU and read its verdict from the serial console.
#
#   e2e_qemu_start LOG TEST APPEND [QEMU DEVICE ARGS...]
#       boot in the background; sets E2E_QEMU_PID. E2E_QEMU_REBOOT=1 lets the
#       guest reset (drops -no-reboot). E2E_GUEST_TIMEOUT (s) arms the guest
#       watchdog (default 150).
#   e2e_qemu_wait PID TIMEOUT    wait at most TIMEOUT s, then kill QEMU by PID
#   e2e_qemu_run LOG TEST TIMEOUT APPEND [ARGS...]   start + wait + verdict
#   e2e_guest_verdict LOG        0 if the log has PASS lines, no FAIL, VHD-DONE
#   e2e_blk_dev SOCK ID NUMQ [EXTRA]   prints the chardev/device args for a
#       vhost-user-blk-pci disk (EXTRA e.g. ",packed=on")
#   e2e_scsi_dev SOCK ID NUMQ          same for vhost-user-scsi-pci
#
# Needs lib/guest.sh (E2E_KERNEL, E2E_INITRD). The accelerator is KVM only if
# a short timed probe boot under KVM succeeded once (verdict cached per
# kernel); otherwise TCG. VHD_E2E_ACCEL=kvm|tcg overrides the probe.

E2E_QEMU=${VHD_E2E_QEMU:-qemu-system-x86_64}
E2E_MEM_MB=${VHD_E2E_MEM_MB:-512}

e2e_qemu_base_args()
{
	local accel=$1
	if [ "$accel" = kvm ]; then
		echo "-accel kvm -cpu host"
	else
		echo "-accel tcg,thread=multi -cpu max"
	fi
	echo "-m $E2E_MEM_MB -smp ${E2E_SMP:-2}"
	echo "-object memory-backend-memfd,id=mem,size=${E2E_MEM_MB}M,share=on"
	echo "-machine q35,memory-backend=mem"
	echo "-nographic -nodefaults -no-user-config"
	echo "-kernel $E2E_KERNEL -initrd $E2E_INITRD"
}

e2e_qemu_cmdline_append()
{
	local test=$1 extra=$2 timeout=$3
	# no_timer_check: a starved TCG vCPU otherwise fails the kernel's IO-APIC
	# timer check on a loaded host ("IO-APIC + timer doesn't work!" panic).
	echo "console=ttyS0 loglevel=${VHD_E2E_LOGLEVEL:-4} no_timer_check panic=-1 oops=panic" \
		"rdinit=/init vhd.test=$test vhd.timeout=$timeout $extra"
}

# e2e_qemu_launch ACCEL LOG TEST APPEND ARGS...: start in background.
e2e_qemu_launch()
{
	local accel=$1 log=$2 test=$3 append=$4
	local timeout=${E2E_GUEST_TIMEOUT:-150}
	shift 4
	local noreboot=-no-reboot
	[ "${E2E_QEMU_REBOOT:-0}" = 1 ] && noreboot=
	# shellcheck disable=SC2046
	$E2E_QEMU $(e2e_qemu_base_args "$accel") $noreboot \
		-serial "file:$log" \
		-append "$(e2e_qemu_cmdline_append "$test" "$append" "$timeout")" \
		"$@" >"$log.qemu" 2>&1 </dev/null &
	E2E_QEMU_PID=$!
}

# e2e_qemu_wait PID TIMEOUT: 0 if QEMU exited by itself in time (its status
# is in E2E_QEMU_STATUS); 1 if it had to be killed.
e2e_qemu_wait()
{
	local pid=$1 timeout=$2 deadline=$((SECONDS + $2))
	# Deadlines use $SECONDS: counting sleeps would stretch on a loaded host.
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			e2e_log "QEMU $pid still running after ${timeout}s: killing it"
			kill -TERM "$pid" 2>/dev/null
			sleep 1
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			E2E_QEMU_STATUS=killed
			return 1
		fi
		sleep 0.2
	done
	wait "$pid"
	E2E_QEMU_STATUS=$?
	return 0
}

# The accelerator to use: cached verdict of a short KVM probe boot.
e2e_accel()
{
	local verdict=$E2E_CACHE_DIR/accel.verdict log
	if [ -n "${VHD_E2E_ACCEL:-}" ]; then
		echo "$VHD_E2E_ACCEL"
		return
	fi
	if [ -f "$verdict" ]; then
		cat "$verdict"
		return
	fi
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		log=$(mktemp /tmp/vhd-kvm-probe.XXXXXX)
		E2E_GUEST_TIMEOUT=10 e2e_qemu_launch kvm "$log" probe ""
		e2e_qemu_wait "$E2E_QEMU_PID" 12 >/dev/null 2>&1
		if grep -q '^VHD-DONE' "$log" && e2e_guest_verdict "$log" >/dev/null 2>&1; then
			echo kvm >"$verdict.tmp"
		else
			echo tcg >"$verdict.tmp"
		fi
		mv "$verdict.tmp" "$verdict"
		rm -f "$log" "$log.qemu"
	else
		echo tcg >"$verdict"
	fi
	cat "$verdict"
}

e2e_qemu_start()
{
	local log=$1 test=$2 append=$3
	shift 3
	E2E_ACCEL=${E2E_ACCEL:-$(e2e_accel)}
	: >"$log"
	e2e_log "boot ($E2E_ACCEL) test=$test log=$log"
	e2e_qemu_launch "$E2E_ACCEL" "$log" "$test" "$append" "$@"
}

# e2e_guest_verdict LOG: print the result lines; 0 only if the guest reported
# at least one PASS, no FAIL and finished (VHD-DONE).
e2e_guest_verdict()
{
	local log=$1 npass nfail
	grep -a -E '^VHD-(RESULT|BOOT|DONE|REBOOTING)' "$log" | sed 's/^/    guest: /' >&2
	npass=$(grep -a -c '^VHD-RESULT: PASS' "$log")
	nfail=$(grep -a -c 'VHD-RESULT: FAIL' "$log")
	if [ "$nfail" -ne 0 ] || [ "$npass" -eq 0 ] || ! grep -a -q '^VHD-DONE' "$log"; then
		e2e_log "guest verdict: $npass passed, $nfail failed$(grep -a -q '^VHD-DONE' "$log" ||
			echo ', no VHD-DONE')"
		echo "---- last console lines ($log):" >&2
		tail -n 40 "$log" >&2
		[ -s "$log.qemu" ] && { echo "---- QEMU stderr:" >&2; tail -n 20 "$log.qemu" >&2; }
		return 1
	fi
	e2e_log "guest verdict: $npass passed"
	return 0
}

# e2e_qemu_run LOG TEST TIMEOUT APPEND ARGS...: boot, wait, verdict.
e2e_qemu_run()
{
	local log=$1 test=$2 timeout=$3 append=$4
	shift 4
	local start=$SECONDS
	E2E_GUEST_TIMEOUT=${E2E_GUEST_TIMEOUT:-$((timeout - 10))} \
		e2e_qemu_start "$log" "$test" "$append" "$@"
	e2e_qemu_wait "$E2E_QEMU_PID" "$timeout"
	e2e_log "QEMU exited ($E2E_QEMU_STATUS) after $((SECONDS - start))s"
	e2e_guest_verdict "$log"
}

e2e_blk_dev()
{
	local sock=$1 id=$2 nq=$3 extra=${4:-}
	echo "-chardev socket,id=$id,path=$sock"
	echo "-device vhost-user-blk-pci,chardev=$id,num-queues=$nq$extra"
}

e2e_scsi_dev()
{
	local sock=$1 id=$2 nq=$3 extra=${4:-}
	echo "-chardev socket,id=$id,path=$sock"
	echo "-device vhost-user-scsi-pci,chardev=$id,num_queues=$nq$extra"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A one-node Ceph test cluster (1 mon, N bluestore OSDs on sparse files, no mgr,
# pool "rbd" of size 1), everything under one directory, msgr2 on 127.0.0.1 only.
#
#   test/ceph/cluster.sh up DIR [--port P] [--osds N] [--image NAME:SIZE_MiB]...
#   test/ceph/cluster.sh down DIR            stop every daemon by PID (keeps data)
#   test/ceph/cluster.sh destroy DIR         down, then remove DIR
#   test/ceph/cluster.sh status DIR          exit 0 when mon and all OSDs run
#   test/ceph/cluster.sh stop-osd DIR ID [SIG]   / start-osd DIR ID   (failure tests)
#   test/ceph/cluster.sh stop-mon DIR / start-mon DIR
#   test/ceph/cluster.sh env DIR             print CEPH_CONF=... for `. <(...)`
#
# `up` on a ready DIR only starts what is not running. A DIR holding our marker
# but not ready is wiped and rebuilt; a foreign non-empty DIR is refused.
# Client config: DIR/ceph.conf, admin keyring DIR/keyring (client.admin).
# Exit 77 from `up` when the Ceph binaries are missing.
set -euo pipefail

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 up|down|destroy|status|stop-osd|start-osd|stop-mon|start-mon|env DIR ..."
shift 2
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

conf=$dir/ceph.conf
marker=$dir/.vhostd-ceph-test

ceph_bins_present() {
	local b
	for b in ceph-mon ceph-osd ceph-authtool monmaptool ceph rbd; do
		command -v "$b" >/dev/null 2>&1 || return 1
	done
}

ceph_cli() {
	timeout 30 ceph -c "$conf" "$@"
}

pid_of() {
	local f=$1 p
	[ -f "$f" ] || return 1
	p=$(cat "$f" 2>/dev/null) || return 1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ -d "/proc/$p" ] || return 1
	# A recycled PID is not ours: the process must have our config on its command line.
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$conf" || return 1
	echo "$p"
}

osd_ids() {
	local d
	for d in "$dir"/osd/*; do
		[ -d "$d" ] && basename "$d"
	done
}

write_conf() {
	local port=$1
	cat >"$conf" <<EOF
[global]
fsid = $(cat "$dir/fsid")
mon host = [v2:127.0.0.1:$port]
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind msgr2 = true
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $dir/keyring
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
run dir = $dir/run
crash dir = $dir/crash
mon cluster log file = $dir/log/cluster.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon mgr mkfs grace = 31536000
mon warn on pool no redundancy = false
paxos propose interval = 0.1
ms bind port min = 6800
ms bind port max = 7300

[mon]
mon data = $dir/mon/\$name
keyring = $dir/mon/\$name/keyring

[osd]
osd data = $dir/osd/\$id
keyring = $dir/osd/\$id/keyring
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mount = false
bdev aio poll ms = 20
osd op num shards = 1
osd op num threads per shard = 2
osd memory target = 536870912
bluestore cache autotune = false
bluestore cache size = 134217728
EOF
}

start_mon() {
	pid_of "$dir/run/mon.a.pid" >/dev/null && return 0
	ceph-mon -c "$conf" -i a 2>>"$dir/log/start.log" || die "ceph-mon failed to start (see $dir/log/mon.a.log)"
}

start_osd() {
	local id=$1
	pid_of "$dir/run/osd.$id.pid" >/dev/null && return 0
	ceph-osd -c "$conf" -i "$id" 2>>"$dir/log/start.log" || die "ceph-osd.$id failed to start (see $dir/log/osd.$id.log)"
}

wait_io() {
	local i
	for i in $(seq 1 600); do
		if echo probe | timeout 20 rados -c "$conf" -p rbd put .probe - 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "pool rbd does not take writes after 60 s"
}

stop_pidfile() {
	local f=$1 sig=${2:-TERM} p i
	p=$(pid_of "$f") || return 0
	kill "-$sig" "$p" 2>/dev/null || true
	[ "$sig" = STOP ] && return 0
	for i in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null || true
	for i in $(seq 1 40); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.05
	done
}

cluster_down() {
	local id f
	[ -d "$dir/run" ] || return 0
	for id in $(osd_ids); do
		f=$dir/run/osd.$id.pid
		p=$(pid_of "$f") && kill -CONT "$p" 2>/dev/null || true
		stop_pidfile "$f"
	done
	stop_pidfile "$dir/run/mon.a.pid"
}

cluster_create() {
	local port=$1 nosds=$2 id uuid secret
	mkdir -p "$dir"/{mon,osd,run,log,crash,seed}
	touch "$marker"
	cat /proc/sys/kernel/random/uuid >"$dir/fsid"
	echo "$port" >"$dir/port"
	write_conf "$port"
	# The seed keyring lives outside the mon data dir: ceph-mon --mkfs into a
	# non-empty mon dir exits 0 without creating a store.
	ceph-authtool --create-keyring "$dir/seed/mon.keyring" --gen-key -n mon. \
		--cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$dir/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
	ceph-authtool "$dir/seed/mon.keyring" --import-keyring "$dir/keyring" >/dev/null
	monmaptool --create --fsid "$(cat "$dir/fsid")" --addv a "[v2:127.0.0.1:$port]" \
		"$dir/seed/monmap" >/dev/null
	ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/seed/monmap" \
		--keyring "$dir/seed/mon.keyring" >/dev/null
	[ -f "$dir/mon/mon.a/store.db/CURRENT" ] || [ -d "$dir/mon/mon.a/store.db" ] ||
		die "ceph-mon --mkfs created no store"
	start_mon
	for ((id = 0; id < nosds; id++)); do
		uuid=$(cat /proc/sys/kernel/random/uuid)
		secret=$(ceph-authtool --gen-print-key)
		mkdir -p "$dir/osd/$id"
		echo "{\"cephx_secret\": \"$secret\"}" >"$dir/seed/osd.$id.json"
		ceph_cli osd new "$uuid" "$id" -i "$dir/seed/osd.$id.json" >/dev/null
		ceph-authtool --create-keyring "$dir/osd/$id/keyring" --name "osd.$id" \
			--add-key "$secret" >/dev/null
		ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --no-mon-config \
			--keyring "$dir/osd/$id/keyring" >"$dir/log/osd.$id.mkfs.log" 2>&1 ||
			die "ceph-osd --mkfs failed (see $dir/log/osd.$id.mkfs.log)"
		start_osd "$id"
	done
	# The ceph CLI is Python and slow to start: two calls in all.
	ceph_cli osd pool create rbd 8 8 >/dev/null 2>&1
	timeout 30 rbd -c "$conf" pool init rbd
	wait_io
}

cmd_up() {
	local port=13300 nosds=1 images=() id img
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift 2 ;;
		--osds) nosds=$2; shift 2 ;;
		--image) images+=("$2"); shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	ceph_bins_present || { echo "ceph binaries missing (scripts/pkgdep.sh installs them)"; exit 77; }
	if [ -f "$dir/.ready" ]; then
		start_mon
		for id in $(osd_ids); do
			start_osd "$id"
		done
		wait_io
	else
		if [ -f "$marker" ]; then
			cluster_down
			rm -rf "$dir"
		elif [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
			die "$dir is not empty and not a test cluster: refusing"
		fi
		mkdir -p "$dir"
		cluster_create "$port" "$nosds"
		touch "$dir/.ready"
	fi
	for img in "${images[@]}"; do
		timeout 30 rbd -c "$conf" create --size "${img#*:}" "rbd/${img%%:*}" 2>/dev/null ||
			timeout 30 rbd -c "$conf" info "rbd/${img%%:*}" >/dev/null ||
			die "rbd create ${img%%:*} failed"
	done
}

cmd_status() {
	local id rc=0
	pid_of "$dir/run/mon.a.pid" >/dev/null && echo "mon.a running" || { echo "mon.a stopped"; rc=1; }
	for id in $(osd_ids); do
		pid_of "$dir/run/osd.$id.pid" >/dev/null && echo "osd.$id running" ||
			{ echo "osd.$id stopped"; rc=1; }
	done
	return $rc
}

case $cmd in
up) cmd_up "$@" ;;
down) cluster_down ;;
destroy)
	if [ -d "$dir" ]; then
		[ -f "$marker" ] || die "$dir is not a test cluster: refusing"
		cluster_down
		rm -rf "$dir"
	fi
	;;
status) cmd_status ;;
stop-osd) stop_pidfile "$dir/run/osd.$1.pid" "${2:-TERM}" ;;
start-osd)
	p=$(pid_of "$dir/run/osd.$1.pid") && kill -CONT "$p" 2>/dev/null || true
	start_osd "$1"
	;;
stop-mon) stop_pidfile "$dir/run/mon.a.pid" "${1:-TERM}" ;;
start-mon)
	p=$(pid_of "$dir/run/mon.a.pid") && kill -CONT "$p" 2>/dev/null || true
	start_mon
	;;
env) echo "CEPH_CONF=$conf" ;;
*) die "unknown command $cmd" ;;
esac

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install, from Debian's archive, only the packages vhostd needs that are missing.
# Usage: scripts/pkgdep.sh   (--ceph is accepted and ignored: the rbd backend and its one-node
# test cluster's packages are always installed)
set -euo pipefail

pkgs=(
	build-essential pkg-config python3
	libdpdk-dev liburing-dev libaio-dev libjson-c-dev libcmocka-dev libsystemd-dev
	clang libclang-rt-14-dev
	qemu-system-x86 qemu-system-common qemu-utils
	fio
	busybox-static sg3-utils e2fsprogs kmod cpio util-linux
	valgrind gnuplot-nox
	ceph-mon ceph-osd ceph-common librbd-dev librados-dev
)

missing=()
for p in "${pkgs[@]}"; do
	[ "${p:0:1}" = "#" ] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "pkgdep: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Build (once) and cache the e2e guest: Debian's kernel as an uncompressed
# vmlinux (PVH boot) and a busybox initramfs with the needed modules, tools
# and our guest scripts. Source this file, then call e2e_guest_prepare; it sets
#   E2E_KVER      kernel release (6.1.0-NN-amd64)
#   E2E_KERNEL    path of the uncompressed vmlinux
#   E2E_INITRD    path of the initramfs (cpio.gz)
#   E2E_VHD_TOOL  path of the static vhd-tool (also used on the host)
# Cache: $VHD_E2E_CACHE (default /var/tmp/vhostd-e2e)/<kernel package version>/,
# never in the repository. The initramfs is keyed by a hash of the guest
# scripts and of this file. Concurrent builders serialise on a flock.

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_DIR=$(cd "$E2E_LIB/.." && pwd)
E2E_CACHE_ROOT=${VHD_E2E_CACHE:-/var/tmp/vhostd-e2e}
# The system interpreter: a pyenv shim in PATH costs seconds per call on a
# loaded machine. The helpers use the standard library only.
if [ -z "${E2E_PY:-}" ]; then
	E2E_PY=${VHD_E2E_PYTHON:-/usr/bin/python3}
	[ -x "$E2E_PY" ] || E2E_PY=python3
fi

# Modules the guest needs (dependencies are added from modules.dep).
E2E_MODULES="virtio_pci virtio_blk virtio_scsi scsi_mod:scan=sync sd_mod sg crc32c_generic ext4"

# Host binaries copied into the guest with their shared libraries.
E2E_TOOLS="sg_inq sg_readcap sg_luns sg_persist sg_unmap sg_write_same sg_vpd sg_turs
	sg_sync sg_reset mke2fs e2fsck blkdiscard"

# e2e_log MSG: to stderr, with the seconds since the test started.
e2e_log()
{
	echo "e2e: [${SECONDS}s] $*" >&2
}

# The kernel package linux-image-amd64 points at, and its version.
e2e_kernel_pkg()
{
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	if [ -z "$pkg" ]; then
		e2e_log "apt-cache knows no linux-image-amd64: running apt-get update"
		timeout 300 apt-get update -qq >&2 || return 1
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg"
}

# Fetch and unpack the kernel package, extract vmlinux, compute the module
# load order. Idempotent; runs under the cache lock.
e2e_kernel_fetch()
{
	local dir=$1 pkg=$2 kver=$3
	[ -f "$dir/kernel.done" ] && return 0
	rm -rf "$dir/root" "$dir"/*.deb
	e2e_log "downloading $pkg"
	(cd "$dir" && timeout 600 apt-get download -q "$pkg" >&2) || return 1
	e2e_log "unpacking $(basename "$dir"/*.deb)"
	dpkg-deb -x "$dir"/*.deb "$dir/root" || return 1
	"$E2E_PY" "$E2E_LIB/extract_vmlinux.py" "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinux" >&2 ||
		return 1
	depmod -b "$dir/root" "$kver" || return 1
	rm -f "$dir"/*.deb
	touch "$dir/kernel.done"
}

# Print the modules (paths relative to lib/modules/$kver, with ":params")
# in load order: every module after its dependencies.
e2e_module_order()
{
	local moddir=$1 want=$2
	"$E2E_PY" - "$moddir" $want <<'PY'
import os, sys
moddir = sys.argv[1]
deps = {}
byname = {}
with open(os.path.join(moddir, "modules.dep")) as f:
    for line in f:
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
        byname[os.path.basename(mod).split(".ko")[0].replace("-", "_")] = mod
order, seen = [], set()
def visit(mod):
    if mod in seen:
        return
    seen.add(mod)
    for d in deps.get(mod, []):
        visit(d)
    order.append(mod)
params = {}
for w in sys.argv[2:]:
    name, _, p = w.partition(":")
    if name not in byname:
        sys.exit("e2e: module %s not in modules.dep" % name)
    params[byname[name]] = p
    visit(byname[name])
for m in order:
    print(m + (":" + params[m] if params.get(m) else ""))
PY
}

# Copy a binary and its shared libraries (and the dynamic loader) into $root.
e2e_copy_with_libs()
{
	local root=$1 bin=$2 lib
	install -D -m 0755 "$bin" "$root/usr/bin/$(basename "$bin")"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

e2e_guest_hash()
{
	cat "$E2E_LIB/guest.sh" "$E2E_DIR"/guest/init "$E2E_DIR"/guest/vhd.sh \
		"$E2E_DIR"/guest/vhd-tool.c "$E2E_DIR"/guest/tests/*.sh |
		sha256sum | cut -c1-16
}

e2e_initramfs_build()
{
	local dir=$1 kver=$2 out=$3 tool=$4
	local root=$dir/initramfs.tmp.$$ m t path
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,mnt,etc,tests}
	cp /bin/busybox "$root/bin/busybox" || return 1
	for t in $(/bin/busybox --list); do
		[ "$t" = busybox ] || ln -s busybox "$root/bin/$t"
	done
	for t in $E2E_TOOLS; do
		path=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") || {
			e2e_log "guest tool $t not installed on the host (sg3-utils, e2fsprogs, util-linux)"
			return 1
		}
		e2e_copy_with_libs "$root" "$path" || return 1
	done
	[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
	install -m 0755 "$tool" "$root/bin/vhd-tool"
	e2e_module_order "$dir/root/lib/modules/$kver" "$E2E_MODULES" >"$dir/load.order.tmp" ||
		return 1
	while read -r m; do
		install -D -m 0644 "$dir/root/lib/modules/$kver/${m%%:*}" \
			"$root/lib/modules/${m%%:*}"
		echo "/lib/modules/$m"
	done <"$dir/load.order.tmp" >"$root/lib/modules/load.order"
	rm -f "$dir/load.order.tmp"
	install -m 0755 "$E2E_DIR/guest/init" "$root/init"
	install -m 0644 "$E2E_DIR/guest/vhd.sh" "$root/lib/vhd.sh"
	cp "$E2E_DIR"/guest/tests/*.sh "$root/tests/"
	(cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) \
		>"$out.tmp" || return 1
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

# e2e_kernel_pick: "PKG VERSION" of the guest kernel. apt-cache is slow
# (seconds, more on a loaded machine), so the answer is cached for a day in
# $E2E_CACHE_ROOT/kernel.pkg; VHD_E2E_REFRESH=1 asks apt again.
e2e_kernel_pick()
{
	local cache=$E2E_CACHE_ROOT/kernel.pkg pkg ver
	if [ "${VHD_E2E_REFRESH:-0}" != 1 ] && [ -s "$cache" ] &&
		[ -n "$(find "$cache" -mmin -1440 2>/dev/null)" ]; then
		cat "$cache"
		return 0
	fi
	if pkg=$(e2e_kernel_pkg); then
		ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
			sed -n 's/^Version: //p' | head -n 1)
		echo "$pkg ${ver:-unknown}" >"$cache.$$" && mv "$cache.$$" "$cache"
		cat "$cache"
		return 0
	fi
	# apt knows nothing and cannot update: an older pick still works offline.
	[ -s "$cache" ] && cat "$cache"
}

# e2e_guest_prepare: make sure kernel + initramfs exist; set E2E_* variables.
e2e_guest_prepare()
{
	local pkg ver dir hash lockfd rc=0 pick
	mkdir -p "$E2E_CACHE_ROOT" || return 1
	pick=$(e2e_kernel_pick)
	pkg=${pick%% *}
	ver=${pick#* }
	[ -n "$pkg" ] || {
		e2e_log "cannot find the kernel package behind linux-image-amd64"
		return 1
	}
	E2E_KVER=${pkg#linux-image-}
	dir=$E2E_CACHE_ROOT/${E2E_KVER}_${ver:-unknown}
	mkdir -p "$dir" || return 1
	hash=$(e2e_guest_hash)
	E2E_KERNEL=$dir/vmlinux
	E2E_INITRD=$dir/initramfs-$hash.cpio.gz
	E2E_VHD_TOOL=$dir/vhd-tool-$hash
	# shellcheck disable=SC2034 # used by qemu.sh and the tests
	E2E_CACHE_DIR=$dir
	if [ -f "$E2E_KERNEL" ] && [ -f "$E2E_INITRD" ] && [ -x "$E2E_VHD_TOOL" ]; then
		return 0
	fi
	exec {lockfd}>"$dir/lock"
	if ! flock -w 900 "$lockfd"; then
		e2e_log "timed out waiting for the guest build lock $dir/lock"
		exec {lockfd}>&-
		return 1
	fi
	if ! e2e_kernel_fetch "$dir" "$pkg" "$E2E_KVER"; then
		e2e_log "kernel fetch failed"
		rc=1
	elif [ ! -x "$E2E_VHD_TOOL" ] &&
		! gcc -static -O2 -Wall -Wextra -Werror -o "$E2E_VHD_TOOL.tmp" \
			"$E2E_DIR/guest/vhd-tool.c"; then
		e2e_log "building the static vhd-tool failed (gcc, libc static)"
		rc=1
	elif [ ! -x "$E2E_VHD_TOOL" ] && ! mv "$E2E_VHD_TOOL.tmp" "$E2E_VHD_TOOL"; then
		rc=1
	elif [ ! -f "$E2E_INITRD" ]; then
		e2e_log "building initramfs $E2E_INITRD"
		e2e_initramfs_build "$dir" "$E2E_KVER" "$E2E_INITRD" "$E2E_VHD_TOOL" || rc=1
		# Builds for older guest scripts, unused for a day, go.
		find "$dir" -maxdepth 1 \( -name 'initramfs-*.cpio.gz' -o -name 'vhd-tool-*' \) \
			-mtime +0 -delete 2>/dev/null
	fi
	exec {lockfd}>&-
	[ $rc -eq 0 ] || return 1
	e2e_log "guest: $E2E_KERNEL + $E2E_INITRD"
}

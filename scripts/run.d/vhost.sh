#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make run` hook: print the QEMU command line for every vhost-blk controller the
# daemon has (the default config creates vhost.0 on a 128 MiB malloc bdev).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
ctrls=$("$top/scripts/rpc.py" -s "$RPC_SOCK" vhost_get_controllers 2>/dev/null) || exit 0
python3 - "$ctrls" <<'PY'
import json, sys
ctrls = [c for c in json.loads(sys.argv[1]) if "block" in c.get("backend_specific", {})]
if not ctrls:
    sys.exit(0)
print("vhostd: attach a QEMU guest (guest RAM must be shared and fd-backed):")
lines = ["qemu-system-x86_64 -machine q35,accel=kvm:tcg -cpu max -smp 2 -m 1G",
         "  -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0"]
for i, c in enumerate(ctrls):
    packed = ""
    lines.append("  -chardev socket,id=vhost%d,path=%s,reconnect=1" % (i, c["socket"]))
    lines.append("  -device vhost-user-blk-pci,chardev=vhost%d,num-queues=2%s" % (i, packed))
lines.append("  -nographic -kernel <bzImage> -append 'console=ttyS0' ...")
print(" \\\n".join(lines))
PY

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make run` hook: print the QEMU arguments for every vhost-scsi controller the daemon
# has (no `reconnect=`: QEMU 7.2's vhost-user-scsi cannot reconnect), and say which
# ones are still delayed (no socket until vhost_start_scsi_controller).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
ctrls=$("$top/scripts/rpc.py" -s "$RPC_SOCK" vhost_get_controllers 2>/dev/null) || exit 0
python3 - "$ctrls" <<'PY'
import json, os, sys
ctrls = [c for c in json.loads(sys.argv[1]) if "scsi" in c.get("backend_specific", {})]
if not ctrls:
    sys.exit(0)
print("vhostd: vhost-scsi controllers (add to the QEMU line; guest RAM shared and fd-backed):")
lines = []
for i, c in enumerate(ctrls):
    tg = ", ".join("target %d: %s" % (t["scsi_dev_num"],
                                        "+".join(l["bdev_name"] for l in t["luns"]))
                   for t in c["backend_specific"]["scsi"]) or "no targets yet"
    state = "" if os.path.exists(c["socket"]) else \
        "  (delayed: run vhost_start_scsi_controller %s first)" % c["ctrlr"]
    print("  %s: %s%s" % (c["ctrlr"], tg, state))
    lines.append("  -chardev socket,id=scsi%d,path=%s" % (i, c["socket"]))
    lines.append("  -device vhost-user-scsi-pci,chardev=scsi%d,num_queues=2" % i)
print(" \\\n".join(lines))
PY

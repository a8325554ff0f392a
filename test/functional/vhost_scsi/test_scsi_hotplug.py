#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hotplug that the guest always sees: hot-add -> TRANSPORT_RESET/RESCAN (target, LUN),
add_lun -> RESCAN for that LUN, remove -> REMOVED per LUN and BAD_TARGET afterwards,
an event with no eventq buffer waits until the guest posts one, an overflow of the
per-session queue marks the next event EVENTS_MISSED (nothing dropped silently), a
resize -> PARAM_CHANGE (2Ah/09h) plus the CAPACITY DATA HAS CHANGED unit attention and
the new size (failure mode e), and a bdev deleted underneath a LUN takes the same
removal path as the RPC (failure mode c)."""

import os

from scsilib import (EVT_REMOVED, EVT_RESCAN, S_BAD_TARGET, S_OK, T_EVENTS_MISSED,
                     T_PARAM_CHANGE, T_TRANSPORT_RESET, CHECK_CONDITION, Client, Daemon, check,
                     malloc, read_capacity16, run, wait_for)

INQUIRY = bytes([0x12, 0, 0, 0, 96, 0])


def targets(d, ctrlr="sc"):
    return [t["scsi_dev_num"] for t in
            d.rpc("vhost_get_controllers", {"name": ctrlr})[0]["backend_specific"]["scsi"]]


def main():
    with Daemon(cpumask="0x1") as d:
        malloc(d, "M0", 16)
        malloc(d, "M1", 16)
        add = "vhost_scsi_controller_add_target"
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "sc"})
        d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M0"})
        sock = os.path.join(d.tmpdir, "sc")
        with Client(sock) as c:
            c.post(8)
            c.ready(0)
            check(c.event(200) is None, "no event before any change")
            check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 1, "bdev_name": "M1"}) == 1,
                  "hot-add target 1")
            ev = c.event()
            check(ev == (T_TRANSPORT_RESET, 1, 0, EVT_RESCAN), "RESCAN for 1:0, got %r" % (ev,))
            c.ready(1)
            r = c.cmd(1, 0, INQUIRY, 96)
            check(r.response == S_OK and r.data[0] == 0, "hot-added target answers %r" % r)
            d.rpc("vhost_scsi_controller_add_lun", {"ctrlr": "sc", "scsi_target_num": 1,
                                                    "bdev_name": "M0", "lun": 2})
            ev = c.event()
            check(ev == (T_TRANSPORT_RESET, 1, 2, EVT_RESCAN), "RESCAN for 1:2, got %r" % (ev,))
            # REPORTED LUNS DATA HAS CHANGED on LUN 0 of that target.
            r = c.cmd(1, 0, bytes(6))
            check(r.status == CHECK_CONDITION and r.asc == (0x3f, 0x0e),
                  "LUNs-changed unit attention %r" % r)

            check(d.rpc("vhost_scsi_controller_remove_target",
                        {"ctrlr": "sc", "scsi_target_num": 1}) is True, "remove target 1")
            evs = sorted([c.event(), c.event()])
            check(evs == [(T_TRANSPORT_RESET, 1, 0, EVT_REMOVED),
                          (T_TRANSPORT_RESET, 1, 2, EVT_REMOVED)], "REMOVED per LUN %r" % evs)
            r = c.cmd(1, 0, INQUIRY, 96)
            check(r.response == S_BAD_TARGET, "removed target: BAD_TARGET %r" % r)
            check(targets(d) == [0], "listing after removal")
            r = c.cmd(0, 0, INQUIRY, 96)
            check(r.response == S_OK and r.status == 0, "target 0 undisturbed")
            print("ok: hot-add, add LUN, hot-remove events")

        with Client(sock) as c:
            # No event buffer yet: the event waits in the session's queue.
            c.ready(0)
            d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 2, "bdev_name": "M1"})
            check(c.event(200) is None, "nothing without a buffer")
            c.post(1)
            ev = c.event()
            check(ev == (T_TRANSPORT_RESET, 2, 0, EVT_RESCAN),
                  "queued event delivered once a buffer came: %r" % (ev,))
            # Overflow: 70 events, room for 64; the next one delivered says EVENTS_MISSED.
            cl = d.client(timeout=30)
            for i in range(70):
                cl.call(add, {"ctrlr": "sc", "scsi_target_num": 10 + i, "bdev_name": "M1"})
            cl.close()
            c.post(100)
            got = []
            while True:
                ev = c.event(300)
                if ev is None:
                    break
                got.append(ev)
            # The buffer re-posted by the client took target 10 at once; 11..74 were queued
            # (64), 75..79 overflowed.
            check(len(got) == 65, "65 events delivered, got %d" % len(got))
            check(got[0][0] == T_TRANSPORT_RESET and
                  got[1][0] == T_TRANSPORT_RESET | T_EVENTS_MISSED and
                  all(e[0] == T_TRANSPORT_RESET for e in got[2:]),
                  "the first queued event after the overflow carries EVENTS_MISSED: %r" % got[:3])
            check([e[1] for e in got] == list(range(10, 75)), "events in order")
            print("ok: queued events, EVENTS_MISSED on overflow")

        # A session stopped and restarted on the same connection (as QEMU does for a
        # SET_MEM_TABLE or a device reset): events it could not get are not lost silently.
        with Client(sock) as c:
            c.ready(0)
            check(c.ask("restart") == "ok", "restart with nothing pending")
            c.post(2)
            check(c.event(300) is None, "no EVENTS_MISSED when nothing happened")
            check(c.ask("stop") == "ok", "stop")
            check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 4, "bdev_name": "M1"}) == 4,
                  "hot-add while the session is stopped")
            check(c.ask("start") == "ok", "start")
            c.post(2)
            ev = c.event()
            check(ev is not None and ev[0] & T_EVENTS_MISSED,
                  "EVENTS_MISSED after a hot-add the stopped session missed: %r" % (ev,))
            check(c.event(300) is None, "only that one")
            # Undelivered (no buffer) when the session stops: same.
            check(c.ask("restart") == "ok", "restart")
            d.rpc("vhost_scsi_controller_remove_target", {"ctrlr": "sc", "scsi_target_num": 4})
            check(c.ask("restart") == "ok", "restart with a queued event")
            c.post(2)
            ev = c.event()
            check(ev is not None and ev[0] & T_EVENTS_MISSED,
                  "EVENTS_MISSED for an event queued at stop: %r" % (ev,))
            print("ok: events missed across a session restart are reported")

        # Resize (e): PARAM_CHANGE + UA + new capacity.
        d.rpc("bdev_null_create", {"name": "N0", "num_blocks": 8192, "block_size": 512})
        d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 3, "bdev_name": "N0"})
        with Client(sock) as c:
            c.post(4)
            c.ready(3)
            size, r = read_capacity16(c, 3)
            check(size == 8192 * 512, "capacity before %r" % size)
            d.rpc("bdev_null_resize", {"name": "N0", "new_size": 8})
            ev = c.event()
            check(ev == (T_PARAM_CHANGE, 3, 0, 0x2a | 0x09 << 8), "PARAM_CHANGE, got %r" % (ev,))
            r = c.cmd(3, 0, bytes(6))
            check(r.status == CHECK_CONDITION and r.sense_key == 6 and r.asc == (0x2a, 0x09),
                  "CAPACITY DATA HAS CHANGED unit attention %r" % r)
            size, r = read_capacity16(c, 3)
            check(size == 8 << 20, "capacity after resize %r" % size)
            print("ok: resize reaches the guest")

            # (c) the bdev deleted underneath: REMOVED, gone from the listing, BAD_TARGET.
            d.rpc("bdev_null_delete", {"name": "N0"})
            ev = c.event()
            check(ev == (T_TRANSPORT_RESET, 3, 0, EVT_REMOVED), "REMOVED after bdev delete %r"
                  % (ev,))
            wait_for(lambda: 3 not in targets(d), "target 3 to leave the listing")
            r = c.cmd(3, 0, INQUIRY, 96)
            check(r.response == S_BAD_TARGET, "target of a deleted bdev: BAD_TARGET %r" % r)
            check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 3, "bdev_name": "M0"}) == 3,
                  "the slot is free again")
            print("ok: bdev removed underneath a LUN")
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""virtio-scsi request/control queues against the real daemon: features offered,
addressing (BAD_TARGET, INCORRECT_LUN, null LUN, target 255), data-in/data-out with
exact bytes, residuals, sense, a short header, VIRTIO_SCSI_F_INOUT chains, task
management (LUN RESET -> unit attention, ABORT TASK, rejected functions) and AN."""

import os

from scsilib import (CHECK_CONDITION, F_CHANGE, F_HOTPLUG, F_INOUT, S_BAD_TARGET, S_FAILURE,
                     S_FUNCTION_REJECTED, S_INCORRECT_LUN, S_OK, Client, Daemon, check, malloc,
                     read_capacity16, run)

INQUIRY = bytes([0x12, 0, 0, 0, 96, 0])


def read10(lba, n):
    return bytes([0x28, 0]) + lba.to_bytes(4, "big") + bytes([0]) + n.to_bytes(2, "big") + \
        bytes([0])


def write10(lba, n):
    return bytes([0x2a, 0]) + lba.to_bytes(4, "big") + bytes([0]) + n.to_bytes(2, "big") + \
        bytes([0])


def main():
    with Daemon(cpumask="0x1") as d:
        malloc(d, "M0", 16)
        malloc(d, "M1", 16)
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "sc"})
        check(d.rpc("vhost_scsi_controller_add_target",
                    {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M0"}) == 0, "target 0")
        check(d.rpc("vhost_scsi_controller_add_target",
                    {"ctrlr": "sc", "scsi_target_num": 255, "bdev_name": "M1"}) == 255,
              "target 255")
        sock = os.path.join(d.tmpdir, "sc")
        with Client(sock) as c:
            for bit in (F_INOUT, F_HOTPLUG, F_CHANGE, 32):
                check(c.features >> bit & 1, "feature bit %d negotiated (0x%x)" % (bit, c.features))
            # The first command of a new nexus reports POWER ON (29h/00h).
            r = c.cmd(0, 0, bytes(6))
            check(r.response == S_OK and r.status == CHECK_CONDITION and r.sense_key == 6 and
                  r.asc == (0x29, 0), "power-on unit attention first: %r" % r)
            check(c.ready(0).status == 0, "TEST UNIT READY after the UA")

            r = c.cmd(0, 0, INQUIRY, 96)
            check(r.response == S_OK and r.status == 0 and r.data[0] == 0, "INQUIRY %r" % r)
            check(r.used == 108 + 96 - r.resid, "used = response + data-in (%r)" % r)
            r = c.cmd(0, 5, INQUIRY, 96)
            check(r.response == S_OK and r.data[0] == 0x7f, "absent LUN: PQ 3 / type 1f: %r" % r)
            r = c.cmd(0, 5, bytes(6))
            check(r.status == CHECK_CONDITION and r.asc == (0x25, 0),
                  "absent LUN: LOGICAL UNIT NOT SUPPORTED %r" % r)
            r = c.cmd(1, 0, INQUIRY, 96)
            check(r.response == S_BAD_TARGET and r.used == 108, "empty target 1: BAD_TARGET %r" % r)
            c.ready(255)
            size, r = read_capacity16(c, 255)
            check(size == 16 << 20, "target 255 capacity %r %r" % (size, r))

            # Addressing by hand: lun[0] != 1, bad LUN formats.
            r = c.raw(bytes([2, 0, 0x40, 0, 0, 0, 0, 0]), INQUIRY, 96)
            check(r.response == S_BAD_TARGET, "lun[0]=2: BAD_TARGET %r" % r)
            r = c.raw(bytes([1, 0, 0xc0, 0, 0, 0, 0, 0]), INQUIRY, 96)
            check(r.response == S_INCORRECT_LUN, "extended LUN format: INCORRECT_LUN %r" % r)
            r = c.raw(bytes([1, 0, 0x40, 0, 0, 1, 0, 0]), INQUIRY, 96)
            check(r.response == S_INCORRECT_LUN, "second level: INCORRECT_LUN %r" % r)
            r = c.raw(bytes([1, 0, 0, 0, 0, 0, 0, 0]), INQUIRY, 96)
            check(r.response == S_OK and r.data[0] == 0, "peripheral LUN 0 addressing %r" % r)
            r = c.raw(bytes([1, 0, 0x40, 0, 0, 0, 0, 0]), INQUIRY, 96, hdr_len=20)
            check(r.response == S_FAILURE, "20-byte header: FAILURE %r" % r)

            # Data out then in, exact bytes; residual; sense for a bad LBA.
            pat = bytes((i * 7 + 3) & 0xff for i in range(1024))
            r = c.cmd(0, 0, write10(8, 2), 0, pat)
            check(r.response == S_OK and r.status == 0 and r.resid == 0 and r.used == 108,
                  "WRITE(10) %r" % r)
            r = c.cmd(0, 0, read10(8, 2), 1024)
            check(r.status == 0 and r.data == pat[:64] and r.resid == 0 and r.used == 108 + 1024,
                  "READ(10) back %r" % r)
            r = c.cmd(0, 0, read10(8, 1), 4096)
            check(r.status == 0 and r.resid == 4096 - 512 and r.used == 108 + 512,
                  "underflow residual %r" % r)
            r = c.cmd(0, 0, read10(1 << 30, 1), 512)
            check(r.status == CHECK_CONDITION and r.sense_key == 5 and r.asc == (0x21, 0),
                  "LBA out of range: ILLEGAL REQUEST 21h %r" % r)
            # INOUT: a write with a data-in buffer too: data-out moves, data-in is residual.
            r = c.raw(bytes([1, 0, 0x40, 0, 0, 0, 0, 0]), write10(16, 1), 512, pat[512:1024])
            check(r.response == S_OK and r.status == 0 and r.resid == 512 and r.used == 108,
                  "INOUT write %r" % r)
            r = c.cmd(0, 0, read10(16, 1), 512)
            check(r.data == pat[512:576], "INOUT data landed %r" % r)

            # Task management.
            check(c.tmf(5, 0, 0) == S_OK, "LUN RESET: FUNCTION COMPLETE")
            r = c.cmd(0, 0, bytes(6))
            check(r.status == CHECK_CONDITION and r.sense_key == 6 and r.asc[0] == 0x29,
                  "unit attention after LUN RESET %r" % r)
            check(c.tmf(0, 0, 0, 0xdead) == S_OK, "ABORT TASK of an unknown tag: complete")
            check(c.tmf(7, 0, 0) == S_FUNCTION_REJECTED, "QUERY TASK SET: rejected")
            check(c.tmf(2, 0, 0) == S_FUNCTION_REJECTED, "CLEAR ACA: rejected")
            check(c.tmf(5, 7, 0) == S_BAD_TARGET, "TMF to an empty target: BAD_TARGET")
            check(c.tmf(4, 0, 0) == S_OK, "I_T NEXUS RESET")
            # Async notification: answered, no events supported.
            for typ in (1, 2):
                resp, actual, used = c.an(typ, 0)
                check(resp == S_OK and actual == 0 and used == 5,
                      "AN type %d: %r" % (typ, (resp, actual, used)))
        check(d.alive(), "daemon alive")
    print("ok: protocol")


if __name__ == "__main__":
    run(main)

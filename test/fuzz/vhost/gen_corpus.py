#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Seeds for vhost_msg_fuzz: 16-byte operations (see the op table in vhost_msg_fuzz.c).
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# Request indexes into g_requests.
SET_FEATURES, RESET_OWNER, SET_MEM_TABLE, GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, \
    SET_VRING_ENABLE, GET_CONFIG, SET_CONFIG, RESET_DEVICE = range(10)


def op(code, vid=0, a=0, b=0, x=b""):
    x = x.ljust(12, b"\0")[:12]
    return bytes([code, vid, a, b]) + x


def new_conn(vid=0):
    return op(0, vid)


def destroy_conn(vid=0):
    return op(1, vid)


def new_dev(vid=0):
    return op(2, vid)


def destroy_dev(vid=0):
    return op(3, vid)


def msg(req, vid=0, x=b"", b=0, post=False):
    return op(5 if post else 4, vid, req, b, x)


def u64(v):
    return struct.pack("<Q", v)


def cfg(offset, size, flags=0):
    # offset in x[0] and size in x[4] (small forms), flags in x[8..11]
    return bytes([offset, 0, 0, 0, size, 0, 0, 0]) + struct.pack("<I", flags)


def queue(qid, vid=0, size_idx=3, kick=True, inflight=False, last_avail=0, last_used=0,
          resubmit=0, place=0):
    a = 1 | (2 if kick else 0) | (4 if inflight else 0)
    x = bytes([size_idx, 0]) + struct.pack("<HH", last_avail, last_used) + \
        bytes([resubmit, 0, 1, 0, place, 0, 0])
    return op(6, vid, a, qid, x)


def device(vid=0, features=0, nregions=1, vring_num=2, a=0):
    x = struct.pack("<II", features >> 32, features & 0xffffffff) + struct.pack("<H", 0x7fff) + \
        bytes([127, 0])
    return op(7, vid, a | ((vring_num // 9) << 4), nregions, x)


def knobs(a=0, hold=0, fill=0x5a):
    return op(8, 0, a, hold, bytes([fill]))


def poll(n=8):
    return op(9, 0, n)


def guest(offset, data10):
    return op(10, 0, 0, 0, struct.pack("<H", offset // 2) + data10.ljust(10, b"\0"))


# One available request on queue 0 (size 8, rings at 0 / 128 / 152): a 16-byte writable
# buffer at gpa 0x10000.
ONE_REQ = guest(0, struct.pack("<QH", 0x10000, 16)) + guest(10, struct.pack("<HHH", 0, 2, 0)) + \
    guest(128, struct.pack("<HHH", 0, 1, 0))

seeds = {
    "split_session": new_conn() + queue(0) + queue(1) + ONE_REQ +
    msg(SET_VRING_KICK, x=u64(0), post=True) + msg(SET_VRING_KICK, x=u64(1), post=True) +
    poll() + msg(GET_CONFIG, x=cfg(0, 60)) + msg(SET_CONFIG, x=cfg(4, 8)) + poll() +
    msg(GET_VRING_BASE, x=u64(0)) + msg(GET_VRING_BASE, x=u64(1)) + destroy_conn(),
    "packed_new_device": device(features=(1 << 34) | (1 << 32) | (1 << 29)) + new_conn() +
    queue(0, size_idx=7) + queue(1, size_idx=2) + new_dev() + poll() + destroy_dev() +
    new_dev() + poll() + destroy_conn(),
    "inflight_resubmit": new_conn() + queue(0, inflight=True, resubmit=3, last_avail=1) +
    ONE_REQ + msg(SET_VRING_KICK, x=u64(0), post=True) + poll() + destroy_conn(),
    "mem_table_restart": new_conn() + queue(0) + knobs(hold=2) + ONE_REQ +
    msg(SET_VRING_KICK, x=u64(0), post=True) + poll(1) + msg(SET_MEM_TABLE) +
    msg(SET_MEM_TABLE, post=True) + poll() + msg(RESET_OWNER) + destroy_conn(),
    "config_sizes": new_conn() + msg(GET_CONFIG, x=cfg(0, 255)) +
    msg(GET_CONFIG, x=cfg(0, 20), b=0x80) + msg(SET_CONFIG, x=cfg(250, 10)) +
    msg(SET_CONFIG, x=cfg(0, 0)) + knobs(a=4) + msg(GET_CONFIG, x=cfg(0, 16)) +
    op(11, 0, 1) + msg(GET_CONFIG, x=cfg(0, 16)) + msg(SET_CONFIG, x=cfg(0, 16)) +
    destroy_conn(),
    "enable_call_reset": new_conn(1) + queue(0, vid=1, kick=False) + queue(2, vid=1) +
    msg(SET_VRING_KICK, vid=1, x=u64(0x100), post=True) +
    msg(SET_VRING_ENABLE, vid=1, x=struct.pack("<II", 0, 1), post=True) +
    msg(SET_VRING_CALL, vid=1, x=u64(0), post=True) +
    msg(SET_VRING_KICK, vid=1, x=u64(2), post=True) + msg(SET_VRING_KICK, vid=1, x=u64(2), post=True) +
    msg(RESET_DEVICE, vid=1) + new_dev(1) + destroy_conn(1),
    "failures": knobs(a=3) + new_conn() + queue(0) + msg(SET_VRING_KICK, x=u64(0), post=True) +
    knobs(a=0) + device(a=4 | 8) + msg(SET_VRING_KICK, x=u64(0), post=True) +
    device(a=1) + new_conn(2) + device(vid=3, a=2) + new_conn(3) + destroy_conn(),
}

os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)

# Findings (not seeds): regression inputs of fixed bugs; see crashes-found/README.
found = os.path.join(os.path.dirname(here), "crashes-found")
os.makedirs(found, exist_ok=True)
with open(os.path.join(found, "kick_restart_inflight"), "wb") as f:
    f.write(new_conn() + queue(0) + knobs(hold=2) + ONE_REQ +
            msg(SET_VRING_KICK, x=u64(0), post=True) + poll(1) +
            msg(SET_VRING_KICK, x=u64(0), post=True) + destroy_conn())

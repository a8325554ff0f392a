#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Regenerate the seed corpus of blk_req_fuzz (input layout: blk_req_fuzz.c).
import os
import struct

NEXT, WRITE = 1, 2


def mk(mode, qlog, ops, reqs, start=0):
    mem = bytearray(0x1e00)
    descs = []
    heads = []
    for k, (typ, sector, datalen, datawrite, extra) in enumerate(reqs):
        hdr = 0x1c80 + 32 * k
        struct.pack_into('<IIQ', mem, hdr, typ, 0, sector)
        d0 = len(descs)
        heads.append(d0)
        if datalen:
            if extra is not None:   # discard / write zeroes segment in region 0
                seg = 0x1d80 + 16 * k
                struct.pack_into('<QII', mem, seg, extra[0], extra[1], extra[2])
                descs += [(hdr, 16, NEXT, d0 + 1), (seg, 16, NEXT, d0 + 2)]
            else:
                descs += [(hdr, 16, NEXT, d0 + 1),
                          (0x1f00, datalen, NEXT | (WRITE if datawrite else 0), d0 + 2)]
            descs.append((0x10000 + k, 1, WRITE, 0))
        else:
            descs += [(hdr, 16, NEXT, d0 + 1), (0x10000 + k, 1, WRITE, 0)]
    for i, (a, ln, f, n) in enumerate(descs):
        struct.pack_into('<QIHH', mem, 16 * i, a, ln, f, n)
    struct.pack_into('<HH', mem, 0x1000, 0, (start + len(heads)) & 0xffff)
    for i, h in enumerate(heads):
        struct.pack_into('<H', mem, 0x1004 + 2 * ((start + i) % (1 << qlog)), h)
    return bytes([mode, qlog]) + struct.pack('<H', start) + bytes([len(ops)]) + bytes(ops) + \
        bytes(mem)


# virtio-blk types: IN 0, OUT 1, FLUSH 4, GET_ID 8, DISCARD 11, WRITE_ZEROES 13
reqs = [(0, 8, 0x1000, True, None), (1, 16, 0x1000, False, None), (4, 0, 0, False, None),
        (8, 0, 20, True, None), (11, 8, 16, False, (8, 8, 0)), (13, 8, 16, False, (16, 8, 1))]
seeds = {
    'all_types': mk(4, 5, [0 | (31 << 3), 2, 2, 2 | 16, 2, 2, 2, 0], reqs),
    'enomem_retry': mk(4, 5, [3 | 8, 0 | (31 << 3), 3, 4, 4, 2, 4, 2, 2, 2], reqs),
    'remove_midway': mk(4, 5, [0 | (2 << 3), 7 | 8, 2, 0 | (31 << 3), 2, 2], reqs),
    'readonly_4k': mk(4 | 8 | 16, 5, [0 | (31 << 3), 2, 2, 2, 6 | 8, 7, 2], reqs),
    'config_resize': mk(0, 3, [6 | 8, 200, 7 | 16, 3, 6 | (31 << 3), 100], reqs[:2]),
    'resubmit': mk(0, 4, [6, 0, 6, 3, 2, 2, 0, 2, 2], reqs[:3]),
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)

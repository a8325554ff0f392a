#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Regenerate the seed corpus of vscsi_req_fuzz (input layout: vscsi_req_fuzz.c).
import os
import struct

NEXT, WRITE = 1, 2


def split(mode, qlog, ops, chains):
    """chains: list of [(gpa, len, write)] per request; request bodies written by caller."""
    mem = bytearray(0x1e00)
    descs, heads = [], []
    for ch in chains:
        heads.append(len(descs))
        for j, (a, ln, w) in enumerate(ch):
            last = j == len(ch) - 1
            descs.append((a, ln, (0 if last else NEXT) | (WRITE if w else 0),
                          0 if last else len(descs) + 1))
    for i, (a, ln, f, n) in enumerate(descs):
        struct.pack_into('<QIHH', mem, 16 * i, a, ln, f, n)
    struct.pack_into('<HH', mem, 0x1000, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into('<H', mem, 0x1004 + 2 * i, h)
    return mem, bytes([mode, qlog, 0, 0, len(ops)]) + bytes(ops)


def cmd_req(lun_target, lun, cdb):
    lunb = bytes([1, lun_target, 0x40 | (lun >> 8), lun & 0xff, 0, 0, 0, 0])
    return lunb + struct.pack('<QBBB', 1, 0, 0, 0) + cdb.ljust(32, b'\0')


seeds = {}
# requestq: INQUIRY (data-in), WRITE(10) (data-out), bad target, split response
mem, hdr = split(0, 4, [0, 0, 0, 0], [
    [(0x1c80, 51, False), (0x10000, 108, True), (0x10100, 96, True)],
    [(0x1d00, 51, False), (0x4000, 512, False), (0x10200, 108, True)],
    [(0x1d40, 51, False), (0x10300, 108, True)],
    [(0x1d80, 51, False), (0x1fc0, 64, True), (0x10400, 44, True)],
])
mem[0x1c80:0x1c80 + 51] = cmd_req(0, 0, bytes([0x12, 0, 0, 0, 96, 0]))
mem[0x1d00:0x1d00 + 51] = cmd_req(1, 0, bytes([0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0]))
mem[0x1d40:0x1d40 + 51] = cmd_req(9, 0x3fff, bytes([0]))
mem[0x1d80:0x1d80 + 51] = cmd_req(0, 1, bytes([0]))
seeds['requestq'] = hdr + bytes(mem)
# controlq: TMF LUN reset and AN query
mem, hdr = split(8 | 4, 3, [0, 0], [
    [(0x1c80, 51, False), (0x10000, 16, True)],
    [(0x1d00, 12, False), (0x10100, 16, True)],
])
mem[0x1c80:0x1c80 + 24] = struct.pack('<II', 0, 5) + bytes([1, 0, 0x40, 0, 0, 0, 0, 0]) + \
    struct.pack('<Q', 7)
mem[0x1d00:0x1d00 + 12] = struct.pack('<I', 1) + bytes([1, 0, 0x40, 0, 0, 0, 0, 0])
seeds['controlq'] = hdr + bytes(mem)
# eventq: events queued, overflowing, then delivered into buffers
ops = [2 | (5 << 2)] * 70 + [1, 1, 3, 1]
mem, hdr = split(0, 3, ops, [[(0x10000, 16, True)], [(0x10100, 8, True), (0x10200, 8, True)],
                             [(0x10300, 4, True)]])
seeds['eventq'] = hdr + bytes(mem)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)

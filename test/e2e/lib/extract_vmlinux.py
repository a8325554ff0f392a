#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Extract the uncompressed ELF vmlinux from a bzImage (vmlinuz).

Same idea as the kernel's scripts/extract-vmlinux: look for each known
compression magic in the image, try to decompress from every hit, and keep the
first result that is an ELF file. gzip, xz, lzma and bzip2 use the Python
standard library; zstd and lz4 use their command-line tools when present.

Usage: extract_vmlinux.py VMLINUZ OUT
"""
import bz2
import gzip
import lzma
import os
import shutil
import subprocess
import sys
import zlib

ELF_MAGIC = b"\x7fELF"


def _gzip(data):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data)


def _xz(data):
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)


def _lzma(data):
    return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)


def _bzip2(data):
    return bz2.BZ2Decompressor().decompress(data)


def _tool(argv):
    def run(data):
        if shutil.which(argv[0]) is None:
            raise OSError(argv[0] + " not installed")
        p = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=120)
        return p.stdout
    return run


# (name, magic, decompressor): the magics extract-vmlinux searches for.
FORMATS = [
    ("gzip", b"\x1f\x8b\x08", _gzip),
    ("xz", b"\xfd7zXZ\x00", _xz),
    ("bzip2", b"BZh", _bzip2),
    ("lzma", b"\x5d\x00\x00\x00", _lzma),
    ("zstd", b"\x28\xb5\x2f\xfd", _tool(["zstd", "-dc"])),
    ("lz4", b"\x02\x21\x4c\x18", _tool(["lz4", "-dc"])),
]


def extract(image):
    if image[:4] == ELF_MAGIC:
        return image, "none"
    for name, magic, fn in FORMATS:
        pos = image.find(magic)
        while pos >= 0:
            try:
                out = fn(image[pos:])
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error,
                    subprocess.TimeoutExpired):
                out = b""
            if out[:4] == ELF_MAGIC:
                return out, name
            pos = image.find(magic, pos + 1)
    return None, None


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        image = f.read()
    out, how = extract(image)
    if out is None:
        print("extract_vmlinux: no compressed ELF kernel found in " + sys.argv[1],
              file=sys.stderr)
        return 1
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, sys.argv[2])
    print("extract_vmlinux: %s -> %s (%s, %d bytes)" % (sys.argv[1], sys.argv[2], how, len(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

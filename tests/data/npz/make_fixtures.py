#!/usr/bin/env python3
"""Write the .npz fixtures of tests/spec/mat_npz_spec.lua and tests/c/test_npz.c.

An independent writer: Python's stdlib zipfile builds the archives (NumPy is not needed);
the .npy members are written byte by byte per the NPY format 1.0 specification (magic
"\\x93NUMPY", version 1.0, little-endian uint16 header length, the header dict padded with
spaces and terminated by "\\n" so that the data starts at a multiple of 64, then the C-order
little-endian data). Member date_time is fixed so the output is reproducible for a given
Python version.  Run from anywhere:  python3 tests/data/npz/make_fixtures.py

Files (values asserted in the specs):
  stored.npz       np.savez-style: ZIP_STORED, force_zip64 (zip64 local extra), members
                   a.npy '<f8' 2x3, b.npy '<i8' (3,), c.npy '<f4' 2x1x2, d.npy '<i4' (2,)
  deflated.npz     the same members, ZIP_DEFLATED (np.savez_compressed style)
  plain.npz        the same members, ZIP_DEFLATED written with writestr (no zip64 extra)
  descriptor.npz   written to a non-seekable stream: every member has a data descriptor
                   (flag bit 3, zero CRC/sizes in the local header); a stored and deflated
  zip64_all.npz    zipfile's zip64 thresholds lowered to 0: zip64 extras in the central
                   directory (sizes and offsets), a zip64 end-of-central-directory record
  mixed.npz        a.npy plus a non-.npy member notes.txt and a directory entry sub/
  data.npz         a dataset for data.load: X '<f8' 2x2x3, Y '<i8' (2,) = (1, -1), v '<f8' (3,)
  bad_crc.npz      stored.npz with one data byte of a.npy changed (CRC mismatch)
  bzip2.npz        a.npy compressed with method 12 (bzip2): unsupported
  encrypted.npz    stored.npz with the encryption flag (bit 0) set on a.npy
  duplicate.npz    a.npy twice
"""
import io
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATE = (2020, 1, 2, 3, 4, 6)


def npy(descr, shape, values):
    """NPY 1.0 bytes of a C-order array of dtype descr ('<f8', '<i8', '<f4', '<i4')."""
    shape_txt = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
    hlen = len(d) + 1
    pad = 64 - (10 + hlen) % 64
    if pad == 64:
        pad = 0
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen + pad) + d.encode("latin1")
    header += b" " * pad + b"\n"
    assert len(header) % 64 == 0
    fmt = {"<f8": "d", "<i8": "q", "<f4": "f", "<i4": "i"}[descr]
    n = 1
    for s in shape:
        n *= s
    assert len(values) == n
    return header + struct.pack("<%d%s" % (n, fmt), *values)


MEMBERS = [
    ("a.npy", npy("<f8", (2, 3), [1.5, -2.0, 3e300, 0.0, -0.0, 1e-310])),
    ("b.npy", npy("<i8", (3,), [1, -2, 2 ** 53])),
    ("c.npy", npy("<f4", (2, 1, 2), [0.5, -0.25, 1024.0, 3.0])),
    ("d.npy", npy("<i4", (2,), [7, -8])),
]


def info(name, method):
    zi = zipfile.ZipInfo(name, date_time=DATE)
    zi.compress_type = method
    return zi


def savez_like(path, members, method, fileobj=None):
    """Members written as NumPy's savez does: zipf.open(name, 'w', force_zip64=True)."""
    f = fileobj if fileobj is not None else path
    with zipfile.ZipFile(f, "w", compression=method, allowZip64=True) as zf:
        for name, data in members:
            with zf.open(info(name, method), "w", force_zip64=True) as fid:
                fid.write(data)


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def patch_flag(data, member, bit):
    """Set a general-purpose flag bit of member in its local and central headers."""
    out = bytearray(data)
    name = member.encode()
    for sig, flag_off, name_off in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        i = out.find(sig)
        while i >= 0:
            nlen = struct.unpack_from("<H", out, i + name_off - (2 if sig == b"PK\x03\x04" else 18))[0]
            if out[i + name_off:i + name_off + nlen] == name:
                (flag,) = struct.unpack_from("<H", out, i + flag_off)
                struct.pack_into("<H", out, i + flag_off, flag | bit)
            i = out.find(sig, i + 4)
    return bytes(out)


def main():
    savez_like(os.path.join(HERE, "stored.npz"), MEMBERS, zipfile.ZIP_STORED)
    savez_like(os.path.join(HERE, "deflated.npz"), MEMBERS, zipfile.ZIP_DEFLATED)

    with zipfile.ZipFile(os.path.join(HERE, "plain.npz"), "w") as zf:
        for name, data in MEMBERS:
            zf.writestr(info(name, zipfile.ZIP_DEFLATED), data)

    s = Unseekable()
    with zipfile.ZipFile(s, "w", allowZip64=True) as zf:
        with zf.open(info("a.npy", zipfile.ZIP_STORED), "w", force_zip64=True) as fid:
            fid.write(MEMBERS[0][1])
        with zf.open(info("b.npy", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as fid:
            fid.write(MEMBERS[1][1])
        with zf.open(info("d.npy", zipfile.ZIP_DEFLATED), "w") as fid:
            fid.write(MEMBERS[3][1])
    write("descriptor.npz", bytes(s.buf))

    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 0
    try:
        savez_like(os.path.join(HERE, "zip64_all.npz"), MEMBERS[:2], zipfile.ZIP_DEFLATED)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved

    with zipfile.ZipFile(os.path.join(HERE, "mixed.npz"), "w") as zf:
        zf.writestr(info("notes.txt", zipfile.ZIP_DEFLATED), b"not an array\n")
        zf.writestr(info("sub/", zipfile.ZIP_STORED), b"")
        zf.writestr(info("a.npy", zipfile.ZIP_STORED), MEMBERS[0][1])

    savez_like(os.path.join(HERE, "data.npz"), [
        ("X.npy", npy("<f8", (2, 2, 3), [1, 0, 0, 0, 1, 0, 0.5, 0.5, 0, -1, 2, 0.25])),
        ("Y.npy", npy("<i8", (2,), [1, -1])),
        ("v.npy", npy("<f8", (3,), [0, 0, 1])),
    ], zipfile.ZIP_DEFLATED)

    stored = open(os.path.join(HERE, "stored.npz"), "rb").read()
    bad = bytearray(stored)
    i = bad.find(b"\x93NUMPY") + 128  # first data byte of a.npy
    bad[i] ^= 0x01
    write("bad_crc.npz", bytes(bad))
    write("encrypted.npz", patch_flag(stored, "a.npy", 0x0001))

    with zipfile.ZipFile(os.path.join(HERE, "bzip2.npz"), "w") as zf:
        zf.writestr(info("a.npy", zipfile.ZIP_BZIP2), MEMBERS[0][1])

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(os.path.join(HERE, "duplicate.npz"), "w") as zf:
            zf.writestr(info("a.npy", zipfile.ZIP_STORED), MEMBERS[0][1])
            zf.writestr(info("a.npy", zipfile.ZIP_STORED), MEMBERS[0][1])

    # sanity: zipfile itself accepts the good archives and reads the members back
    for name in ("stored", "deflated", "plain", "descriptor", "zip64_all", "mixed", "data"):
        with zipfile.ZipFile(os.path.join(HERE, name + ".npz")) as zf:
            assert zf.testzip() is None, name
    with zipfile.ZipFile(os.path.join(HERE, "descriptor.npz")) as zf:
        assert all(zi.flag_bits & 0x08 for zi in zf.infolist())
        assert zf.read("a.npy") == MEMBERS[0][1]


if __name__ == "__main__":
    main()

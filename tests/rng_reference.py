#!/usr/bin/env python3
# Not run by the test suite: this script was run once (python3 tests/rng_reference.py) to
# produce the known-answer constants of tests/c/test_rng_kat.c and tests/spec/rng_spec.lua.
# Independent reimplementation of hardmax's rng (SplitMix64 seeding, xoshiro256** 1.0,
# 53-bit uniforms, Box-Muller) used once to produce the known-answer constants.
import math, struct
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)
def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
class G:
    def __init__(s, seed):
        x = seed & M; s.s = []
        for _ in range(4):
            x, z = splitmix(x); s.s.append(z)
        s.cache = None
    def next(s):
        a = s.s
        r = (rotl((a[1] * 5) & M, 7) * 9) & M
        t = (a[1] << 17) & M
        a[2] ^= a[0]; a[3] ^= a[1]; a[1] ^= a[2]; a[0] ^= a[3]; a[2] ^= t; a[3] = rotl(a[3], 45)
        return r
    def uniform(s): return (s.next() >> 11) * 2.0**-53
    def normal(s):
        if s.cache is not None:
            c = s.cache; s.cache = None; return c
        u1 = 1.0 - s.uniform(); u2 = s.uniform()
        r = math.sqrt(-2.0 * math.log(u1)); a = 6.283185307179586476925286766559 * u2
        s.cache = r * math.sin(a); return r * math.cos(a)
print("splitmix64(0) first:", hex(splitmix(0)[1]))
for seed in (0, 1, 42):
    g = G(seed); print(seed, "next:", ", ".join("0x%016xULL" % g.next() for _ in range(4)))
    g = G(seed); print(seed, "uniform:", ", ".join(repr(g.uniform()) for _ in range(2)))
    g = G(seed); print(seed, "normal:", ", ".join(repr(g.normal()) for _ in range(4)))
def hash_(id_, key):
    h = id_ ^ 0x6a09e667f3bcc909
    _, h = splitmix(h)
    for i in range(0, len(key), 8):
        w = int.from_bytes(key[i:i+8], "little")
        _, h = splitmix(h ^ w)
    _, h = splitmix(h ^ len(key))
    return h
def below(g, n):
    limit = M - (M % n)
    while True:
        x = g.next()
        if x < limit: return x % n
for key in (b"i" + struct.pack("<q", 1), b"i" + struct.pack("<q", -1), b"sa", b"strial-7"):
    cid = hash_(42, key); c = G(cid)
    print("split42", key, "id=%d" % (cid if cid < 2**63 else cid - 2**64), "next=0x%016x" % c.next())
g = G(42); a = list(range(1, 11))
for i in range(10, 1, -1):
    j = below(g, i); a[i-1], a[j] = a[j], a[i-1]
print("perm42(10)", a)
g = G(42); print("randint42(1,6)", [1 + below(g, 6) for _ in range(8)])
g = G(42); print("sign42", [(-1 if g.next() >> 63 else 1) for _ in range(8)])
g = G(7); print("randint7(-5,5)", [-5 + below(g, 11) for _ in range(8)])

#!/usr/bin/env python3
"""Independent reference for the l_inf / l_1 / spectral W-SVMs (tests/spec/svm_cvxopt_spec.lua):
CVXOPT's LP and SDP solvers (Debian python3-cvxopt; a test-only dependency).

stdin: JSON list of problems {"A": m x d, "Z": m x d, "b": m, "norm": "inf" | "l1" | "spec"}
(rows a_k^T W z_k >= b_k); stdout: JSON list of {"status", "primal", "dual"} (CVXOPT's
primal and dual objectives of min ||W|| in the problem's norm)."""
import json
import sys

from cvxopt import matrix, solvers

solvers.options.update({"show_progress": False, "abstol": 1e-9, "reltol": 1e-9,
                        "feastol": 1e-9, "maxiters": 200})


def rows(A, Z):
    d = len(A[0])
    return [[A[k][i] * Z[k][j] for i in range(d) for j in range(d)] for k in range(len(A))], d


def solve(p):
    F, d = rows(p["A"], p["Z"])
    b, m, N = p["b"], len(F), d * d
    if p["norm"] == "inf":  # x = (vec W, t): min t, -F w <= -b, w - t <= 0, -w - t <= 0
        G = [[-F[k][j] for j in range(N)] + [0.0] for k in range(m)]
        G += [[(1.0 if j == i else 0.0) for j in range(N)] + [-1.0] for i in range(N)]
        G += [[(-1.0 if j == i else 0.0) for j in range(N)] + [-1.0] for i in range(N)]
        h = [-v for v in b] + [0.0] * (2 * N)
        c = [0.0] * N + [1.0]
        r = solvers.lp(matrix(c, tc="d"), matrix(G, tc="d").T, matrix(h, tc="d"))
    elif p["norm"] == "l1":  # x = (vec W, u): min sum u, -F w <= -b, w - u <= 0, -w - u <= 0
        G = [[-F[k][j] for j in range(N)] + [0.0] * N for k in range(m)]
        G += [[(1.0 if j == i else 0.0) for j in range(N)] + [(-1.0 if j == i else 0.0) for j in range(N)]
              for i in range(N)]
        G += [[(-1.0 if j == i else 0.0) for j in range(N)] + [(-1.0 if j == i else 0.0) for j in range(N)]
              for i in range(N)]
        h = [-v for v in b] + [0.0] * (2 * N)
        c = [0.0] * N + [1.0] * N
        r = solvers.lp(matrix(c, tc="d"), matrix(G, tc="d").T, matrix(h, tc="d"))
    else:  # x = (t, vec W): min t, -F w <= -b, [[t I, W], [W^T, t I]] >= 0
        n = 2 * d
        Gl = [[0.0] + [-v for v in F[k]] for k in range(m)]
        hl = [-v for v in b]
        cols = []  # Gs x + s = hs, s = S(x) >= 0: columns -vec(G_i) (column-major)
        e = [0.0] * (n * n)
        for i in range(n):
            e[i * n + i] = -1.0
        cols.append(e)
        for a in range(d):
            for bb in range(d):
                e = [0.0] * (n * n)
                e[(d + bb) * n + a] = -1.0
                e[a * n + d + bb] = -1.0
                cols.append(e)
        c = [1.0] + [0.0] * N
        r = solvers.sdp(matrix(c, tc="d"), Gl=matrix(Gl, tc="d").T, hl=matrix(hl, tc="d"),
                        Gs=[matrix(cols, tc="d")], hs=[matrix(0.0, (n, n))])
    return {"status": r["status"], "primal": r["primal objective"], "dual": r["dual objective"]}


print(json.dumps([solve(p) for p in json.load(sys.stdin)]))

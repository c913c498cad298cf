-- Shared helpers of the svm specs (not a spec itself).
local H = {}

-- Flat row-major values of a mat (or of a nested table).
local function flatten(t, out)
  for _, v in ipairs(t) do
    if type(v) == "table" then flatten(v, out) else out[#out + 1] = v end
  end
  return out
end
function H.vals(m)
  if type(m) == "table" then return flatten(m, {}) end
  return flatten(m:totable(), {})
end

function H.close(a, b, tol, what)
  tol = tol or 1e-10
  local err = math.abs(a - b)
  if not (err <= tol * math.max(1, math.abs(b))) then
    error(string.format("%s: got %.17g, expected %.17g (tol %g)", what or "value", a, b, tol), 2)
  end
end

function H.vclose(m, expected, tol, what)
  local v = H.vals(m)
  assert(#v == #expected, (what or "vector") .. ": length " .. #v .. " vs " .. #expected)
  for i = 1, #v do H.close(v[i], expected[i], tol, (what or "entry") .. "[" .. i .. "]") end
end

function H.maxdiff(a, b)
  local va, vb, d = H.vals(a), H.vals(b), 0
  for i = 1, #va do d = math.max(d, math.abs(va[i] - vb[i])) end
  return d
end

function H.norm(m)
  local s = 0
  for _, x in ipairs(H.vals(m)) do s = s + x * x end
  return math.sqrt(s)
end

-- Tolerances from certificates (docs/testing.md "Tolerances in tests"). --------------------
H.eps = 2 ^ -52

-- Largest row norm of X (a mat or nested table), optionally with an appended constant
-- coordinate `extra` (1 for a bias column): max_k ||f_k||, the data scale of the margins.
function H.fmax(X, extra)
  local t = type(X) == "table" and X or X:totable()
  local f = 0
  for _, row in ipairs(t) do
    local s = (extra or 0) ^ 2
    for _, v in ipairs(H.vals(row)) do s = s + v * v end
    f = math.max(f, math.sqrt(s))
  end
  return f
end

-- Relative rounding error e of a computed certified endpoint (the objective ||x/gamma|| or
-- the lower bound (b^T l)/||F^T l||), first-order worst case over every summation order
-- (so every BLAS kernel, FMA or not, and thread split): an inner product's error is
-- <= n eps sum|terms| with n its number of nonzero terms (Higham, Accuracy and Stability,
-- §3.1; adding an exact zero is exact). The margins f_k.x have N terms, b^T l and F^T l one
-- per nonzero multiplier, so n = N + nnz(l). The terms exceed the result by at most
-- kappa = max_k ||f_k|| * ||x|| (margins are 1 at the rescaled x; sum_k l_k ||f_k|| <=
-- max||f|| b^T l and b^T l / ||F^T l|| = lb <= ||x|| when every row has b = 1), so
-- e = n eps (2 + kappa) covers numerator, denominator and the division.
function H.nnz(m)
  local c = 0
  for _, v in ipairs(H.vals(m)) do if v ~= 0 then c = c + 1 end end
  return c
end
function H.cert_rounding(r, N, fmax, xnorm)
  local n = N + H.nnz(r.lambda)
  return n * H.eps * (2 + fmax * (xnorm or r.objective))
end

local function lower_of(r) return r.lower_bound or r.dual_objective end

-- Two certified solves of one problem (objectives in the problem's own norm): P* lies in
-- both computed brackets [lb_i, o_i] up to the rounding e*o_i of each endpoint, so
--   o1 - o2 <= (o1 - P*) + (P* - o2) <= (o1 - lb1 + 2e o1) + e o2,
-- i.e. |o1 - o2| <= max_i (o_i - lb_i) + 3 e max(o1, o2).
-- scale = { N = dimension of x, fmax = max_k ||f_k|| } (or { e = relative rounding }).
function H.agree(r1, r2, scale, what)
  local o1, o2 = r1.objective, r2.objective
  local e = scale.e or math.max(H.cert_rounding(r1, scale.N, scale.fmax, math.max(o1, o2)),
    H.cert_rounding(r2, scale.N, scale.fmax, math.max(o1, o2)))
  local tol = math.max(o1 - lower_of(r1), o2 - lower_of(r2)) + 3 * e * math.max(o1, o2)
  if not (math.abs(o1 - o2) <= tol) then
    error(string.format("%s: objectives %.17g and %.17g differ by %.3g > %.3g "
      .. "(certified gaps + rounding)", what or "agree", o1, o2, math.abs(o1 - o2), tol), 2)
  end
  return tol
end

-- A known optimal value (closed form) lies in the computed certified bracket, up to the
-- rounding e of its endpoints: lb - e o <= exact <= o + e o. As sharp as the solve itself
-- (the bracket is the certified gap wide) and independent of how the bits fell.
function H.brackets(r, exact, scale, what)
  local o, lb = r.objective, lower_of(r)
  local e = scale.e or H.cert_rounding(r, scale.N, scale.fmax)
  if not (lb - e * o <= exact and exact <= o + e * o) then
    error(string.format("%s: %.17g not in the certified bracket [%.17g, %.17g] (+- %.3g)",
      what or "brackets", exact, lb, o, e * o), 2)
  end
end

-- Rounding of a nuclear-norm endpoint: the singular values of a d x d matrix are backward
-- stable (each within ~d eps ||W||_2 of exact, LAPACK), so their sum carries d^2 eps ||W||_*;
-- M(l) = sum l_k a_k z_k^T and the margins as in H.cert_rounding with N = d^2.
function H.cert_rounding_nuclear(r, d, fmax)
  return H.cert_rounding(r, 2 * d * d, fmax)
end

-- Distance of a certified l2 solution x (= the returned x/gamma) from the optimum, from the
-- bracket (solvers.md §3.1, 1-strong convexity of 1/2||x||^2): ||x - x*||^2 <= 2 (UB - LB)
-- = o^2 - lb^2 in norms; with the endpoints' rounding (o(1+e))^2 - (lb(1-e))^2 <= o^2 - lb^2
-- + 6 e o^2, plus e o for rounding x/gamma itself.
function H.distance_bound(r, scale)
  local o, lb = r.objective, lower_of(r)
  local e = scale.e or H.cert_rounding(r, scale.N, scale.fmax)
  return math.sqrt(math.max(0, o * o - lb * lb) + 6 * e * o * o) + e * o
end

-- Two certified l2 solutions x1, x2 (mats or tables) of one problem are within the sum of
-- their distance bounds (2-norm). Returns the bound.
function H.within_distance(x1, r1, x2, r2, scale, what)
  local a, b = H.vals(x1), H.vals(x2)
  assert(#a == #b, (what or "within_distance") .. ": lengths differ")
  local s = 0
  for i = 1, #a do s = s + (a[i] - b[i]) ^ 2 end
  local tol = H.distance_bound(r1, scale) + H.distance_bound(r2, scale)
  if not (math.sqrt(s) <= tol) then
    error(string.format("%s: ||x1 - x2|| = %.3g > %.3g (sum of certified distance bounds)",
      what or "within_distance", math.sqrt(s), tol), 2)
  end
  return tol
end

-- A known optimum x* with value P* as a zero-width bracket (for H.within_distance). Also
-- valid for a nuclear-norm solve when the Frobenius optimum has rank one (then it is the
-- nuclear optimum, with the same value): for feasible W, |W - W*|_F^2 <= |W|_F^2 - P*^2
-- <= |W|_*^2 - lb^2, the bound H.distance_bound computes from the nuclear bracket.
function H.exact(P) return { objective = P, lower_bound = P, lambda = {} } end

-- Two certified solutions (w_i, beta_i) of one hard-margin SVM with bias. For any row k,
-- with slacks s_ik = y_k (w_i . x_k + beta_i) - 1, beta1 - beta2 = y_k (s_1k - s_2k) -
-- (w1 - w2) . x_k exactly, so |beta1 - beta2| <= |s_1k - s_2k| + dw ||x_k|| with dw the
-- certified bound on ||w1 - w2|| (H.within_distance); take the row where both are tightest,
-- plus the slacks' rounding (N + 1) eps (|w| |x_k| + |beta| + 1) each.
function H.bias_agree(X, y, r1, r2, dw, what)
  local t = type(X) == "table" and X or X:totable()
  local yv, w1, w2 = H.vals(y), H.vals(r1.w), H.vals(r2.w)
  local best, bound = math.huge, math.huge
  for k, row in ipairs(t) do
    local x = H.vals(row)
    local m1, m2, xn = r1.bias, r2.bias, 0
    for j = 1, #x do m1 = m1 + w1[j] * x[j]; m2 = m2 + w2[j] * x[j]; xn = xn + x[j] * x[j] end
    local s1, s2 = yv[k] * m1 - 1, yv[k] * m2 - 1
    if s1 + s2 < best then
      best = s1 + s2
      xn = math.sqrt(xn)
      local rnd = (#x + 1) * H.eps * (math.max(H.norm(r1.w), H.norm(r2.w)) * xn
        + math.max(math.abs(r1.bias), math.abs(r2.bias)) + 1)
      bound = math.abs(s1 - s2) + dw * xn + 2 * rnd
    end
  end
  if not (math.abs(r1.bias - r2.bias) <= bound) then
    error(string.format("%s: biases %.17g and %.17g differ by %.3g > %.3g", what or "bias",
      r1.bias, r2.bias, math.abs(r1.bias - r2.bias), bound), 2)
  end
  return bound
end

-- Deterministic Gaussian stream (xorshift64* + Box-Muller), independent of the rng module.
function H.gen(seed)
  local s = seed * 2654435761 + 88172645463325252
  local spare
  local function u()
    s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
    return ((s >> 11) & ((1 << 53) - 1)) / 2 ^ 53
  end
  return function()
    if spare then local v = spare; spare = nil; return v end
    local a, b = u(), u()
    if a < 1e-300 then a = 1e-300 end
    local r = math.sqrt(-2 * math.log(a))
    spare = r * math.sin(2 * math.pi * b)
    return r * math.cos(2 * math.pi * b)
  end
end

-- G-rand style instance as nested tables: X n x T x d (unit tokens), Z n x d (unit), v, Y.
function H.instance(seed, n, T, d)
  local g = H.gen(seed)
  local function unit(k)
    local v, s = {}, 0
    for j = 1, k do v[j] = g(); s = s + v[j] ^ 2 end
    s = math.sqrt(s)
    for j = 1, k do v[j] = v[j] / s end
    return v
  end
  local ds = { X = {}, Z = {}, Y = {}, v = unit(d) }
  for i = 1, n do
    ds.Y[i] = g() > 0 and 1 or -1
    ds.X[i] = {}
    for t = 1, T do ds.X[i][t] = unit(d) end
    ds.Z[i] = unit(d)
  end
  return ds
end

-- opt_i = argmax_t Y_i v . x_it
function H.opt(ds)
  local a = {}
  for i = 1, #ds.X do
    local best, bi = -math.huge, 1
    for t = 1, #ds.X[i] do
      local s = 0
      for j = 1, #ds.v do s = s + ds.v[j] * ds.X[i][t][j] end
      s = s * ds.Y[i]
      if s > best then best, bi = s, t end
    end
    a[i] = bi
  end
  return a
end

-- The Frobenius W-SVM rows vec(a_k z_k^T) (for the d^2-variable primal cross-check).
function H.vec_rows(ds, alpha)
  local F = {}
  for i = 1, #ds.X do
    local Xi, z = ds.X[i], ds.Z[i]
    for t = 1, #Xi do
      if t ~= alpha[i] then
        local row = {}
        for j1 = 1, #z do
          for j2 = 1, #z do row[#row + 1] = (Xi[alpha[i]][j1] - Xi[t][j1]) * z[j2] end
        end
        F[#F + 1] = row
      end
    end
  end
  return F
end

-- Farkas check from the data: lambda >= 0, b^T lambda > 0, |F^T lambda| ~ 0 (rows given).
function H.farkas_ok(rows, b, lambda, tol)
  local l = H.vals(lambda)
  local bl, l1, maxf = 0, 0, 0
  for k = 1, #rows do
    assert(l[k] >= 0, "negative multiplier")
    bl = bl + b[k] * l[k]; l1 = l1 + l[k]
    local f = 0
    for j = 1, #rows[k] do f = f + rows[k][j] ^ 2 end
    maxf = math.max(maxf, math.sqrt(f))
  end
  assert(bl > 0, "b^T lambda must be positive")
  for j = 1, #rows[1] do
    local s = 0
    for k = 1, #rows do s = s + rows[k][j] * l[k] end
    assert(math.abs(s) <= (tol or 1e-9) * maxf * l1, "F^T lambda not ~ 0: " .. s)
  end
  return true
end

return H

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

-- svm: matrix problems (att, seq, gen) against the closed forms of theory.md §C and
-- solvers.md §4, cross-checks between formulations, invariances and edge cases.
require "hardmax"
local svm = require "hardmax.svm"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

local function certified(r)
  assert.are.equal("optimal", r.status)
  assert.is_true(r.rel_gap <= 1e-9, "rel_gap " .. r.rel_gap)
  assert.is_true(r.primal_infeas <= 1e-12, "primal_infeas " .. r.primal_infeas)
  assert.is_true(r.kkt.stationarity <= 1e-9, "stationarity " .. r.kkt.stationarity)
  assert.is_true(r.kkt.complementarity <= 1e-9, "complementarity " .. r.kkt.complementarity)
end

local e = function(d, i) local v = {}; for j = 1, d do v[j] = j == i and 1 or 0 end; return v end
local zero = function(d) local v = {}; for j = 1, d do v[j] = 0 end; return v end

describe("svm.att (Frobenius W-SVM)", function()
  it("Appendix item 3: four active constraints, W = [[1, 2/11], [1, -8/11]]", function()
    local ds = { X = { { { 1, 0 }, { 0, 1 }, { 1, 1 } }, { { 0.5, -1 }, { 1, 0.5 }, { -1, 0 } } },
                 Z = { { 1, 0 }, { 0, 1 } }, Y = { 1, -1 } }
    for _, method in ipairs { "auto", "ipm", "activeset" } do
      local r = svm.att(ds, { 3, 1 }, { method = method })
      certified(r)
      H.vclose(r.W, { 1, 2 / 11, 1, -8 / 11 }, 1e-10, "W")
      assert.are.same({ { 1, 2 }, { 2, 3 } }, r.support)
      assert.are.same({ 1, 1, 2, 2 }, r.rows.sample)
      assert.are.same({ 1, 2, 2, 3 }, r.rows.token)
    end
  end)

  it("C.2 T = 2: W = delta z^T / (|delta|^2 |z|^2)", function()
    local r = svm.att({ { { 1, 2, 0 }, { 0, 0, 2 } } }, { 1 }, { Z = { { 0, 3, 4 } } })
    certified(r)
    -- delta = (1, 2, -2), |delta|^2 = 9, z = (0,3,4), |z|^2 = 25
    local d, z, W = { 1, 2, -2 }, { 0, 3, 4 }, {}
    for i = 1, 3 do for j = 1, 3 do W[#W + 1] = d[i] * z[j] / 225 end end
    H.vclose(r.W, W, 1e-12, "W")
    H.close(r.objective, 1 / 15, 1e-12)
  end)

  it("C1: one sequence of orthonormal tokens, z = 2 e3", function()
    local r = svm.att({ { e(3, 1), e(3, 2), e(3, 3) } }, { 1 }, { Z = { { 0, 0, 2 } } })
    certified(r)
    H.vclose(r.W, { 0, 0, 1 / 3, 0, 0, -1 / 6, 0, 0, -1 / 6 }, 1e-12, "W")
    H.close(r.objective, 1 / math.sqrt(6), 1e-12)
  end)

  it("C2: orthogonal constraint matrices, W = sum A_j / |A_j|^2", function()
    local X = { { e(4, 1), e(4, 2) }, { e(4, 3), e(4, 4) } }
    local r = svm.att(X, { 1, 1 }, { Z = { e(4, 1), e(4, 3) } })
    certified(r)
    local W = zero(16)
    W[1], W[5], W[11], W[15] = 0.5, -0.5, 0.5, -0.5
    H.vclose(r.W, W, 1e-12, "W")
    H.close(r.objective, 1, 1e-12)
  end)

  it("D1 and D2: W = I, and the degenerate W_F = [[1, 1], [0, 1]]", function()
    local X = { { e(2, 1), zero(2) }, { e(2, 2), zero(2) } }
    local r = svm.att(X, { 1, 1 }, { Z = { e(2, 1), e(2, 2) } })
    certified(r)
    H.vclose(r.W, { 1, 0, 0, 1 }, 1e-10, "W")
    X[3] = { e(2, 1), zero(2) }
    r = svm.att(X, { 1, 1, 1 }, { Z = { e(2, 1), e(2, 2), e(2, 2) } })
    certified(r)
    H.vclose(r.W, { 1, 1, 0, 1 }, 1e-10, "W")
    H.vclose(r.lambda, { 1, 1, 1 }, 1e-9, "lambda")
  end)

  it("C3 / C.2 equivalence: all z_i = z gives W = p* z^T / |z|^2 (rank one)", function()
    local ds = H.instance(11, 5, 4, 6)
    local z = ds.Z[1]
    local Z = {}
    for i = 1, 5 do Z[i] = { 2 * z[1], 2 * z[2], 2 * z[3], 2 * z[4], 2 * z[5], 2 * z[6] } end
    local al = H.opt(ds)
    local rw = svm.att(ds.X, al, { Z = Z })
    local rp = svm.prompt(ds.X, al)
    certified(rw); certified(rp)
    local p, W = H.vals(rp.p), {}
    for i = 1, 6 do for j = 1, 6 do W[#W + 1] = p[i] * 2 * z[j] / 4 end end
    -- W* = p* (2z)^T / |2z|^2 and |W*|_F = |p*| / 2: rp's bracket, halved, brackets rw's
    -- optimum; |W - W*| <= |p - p*| |2z| / 4 = distance_bound(rp) / 2
    local fw = H.fmax(H.vec_rows({ X = ds.X, Z = Z }, al))
    local e = math.max(H.cert_rounding(rw, 36, fw), H.cert_rounding(rp, 6, H.fmax(H.vec_rows({ X = ds.X, Z = ds.Z }, al))))
    local half = { objective = rp.objective / 2, lower_bound = rp.lower_bound / 2, lambda = rp.lambda }
    H.agree(rw, half, { e = e }, "W-SVM vs p-SVM / 2")
    H.within_distance(rw.W, rw, W, half, { e = e }, "W vs p z^T / |z|^2")
    local rk = svm.rank(rw.W)
    assert.are.equal(1, rk)
  end)

  it("random n=6, T=8, d=10: certified, IPM = active set = d^2-variable primal QP", function()
    for seed = 1, 3 do
      local ds = H.instance(seed, 6, 8, 10)
      local al = H.opt(ds)
      local r1 = svm.att(ds, al, { method = "ipm" })
      local r2 = svm.att(ds, al, { method = "activeset" })
      certified(r1); certified(r2)
      assert.are.equal(42, r1.m)
      local F = H.vec_rows(ds, al)
      local sc = { N = 100, fmax = H.fmax(F) }
      H.agree(r1, r2, sc, "IPM vs active set")
      local ones = {}
      for k = 1, 42 do ones[k] = 1 end
      local r3 = svm.hard_margin(F, ones, { method = "ipm", form = "primal" })
      certified(r3)
      H.agree(r3, r1, sc, "d^2-variable primal vs IPM")
      H.within_distance(r1.W, r1, r3.w, r3, sc, "W vs d^2 primal")
      H.within_distance(r1.W, r1, r2.W, r2, sc, "W IPM vs active set")
      assert.are.same(r1.support, r2.support)
      -- Frobenius rank = min(n, d) generically
      local rk, gap = svm.rank(r1.W)
      assert.are.equal(6, rk)
      assert.is_true(gap < 1e-6)
    end
  end)

  it("invariances: permuting samples/tokens; X, Z -> c X, c Z maps W -> W / c^2", function()
    local ds = H.instance(5, 5, 6, 7)
    local al = H.opt(ds)
    local r = svm.att(ds, al)
    certified(r)
    local Xp, Zp, ap = {}, {}, {}
    for i = 1, 5 do
      local ii = 6 - i
      Xp[ii], Zp[ii] = {}, ds.Z[i]
      for t = 1, 6 do Xp[ii][7 - t] = ds.X[i][t] end
      ap[ii] = 7 - al[i]
    end
    local rp = svm.att(Xp, ap, { Z = Zp })
    -- same problem, rows in another order (other rounding): within both distance bounds
    local sc = { N = 49, fmax = H.fmax(H.vec_rows(ds, al)) }
    H.within_distance(r.W, r, rp.W, rp, sc, "permuted")
    local Xc, Zc = {}, {}
    for i = 1, 5 do
      Xc[i], Zc[i] = {}, {}
      for j = 1, 7 do Zc[i][j] = 0.5 * ds.Z[i][j] end
      for t = 1, 6 do
        Xc[i][t] = {}
        for j = 1, 7 do Xc[i][t][j] = 0.5 * ds.X[i][t][j] end
      end
    end
    local rc = svm.att(Xc, al, { Z = Zc })
    -- the scaled problem's solution is exactly 4 W*: 4 x (r's bracket) brackets it
    local W4 = H.vals(r.W)
    for k = 1, #W4 do W4[k] = 4 * W4[k] end
    local r4 = { objective = 4 * r.objective, lower_bound = 4 * r.lower_bound, lambda = r.lambda }
    H.within_distance(rc.W, rc, W4, r4, { e = H.cert_rounding(r, 49, sc.fmax) }, "scaled")
  end)

  it("self-attention: the query token by index (default the first)", function()
    local ds = H.instance(8, 3, 4, 5)
    local al = H.opt(ds)
    local Z = {}
    for i = 1, 3 do Z[i] = ds.X[i][2] end
    local r1 = svm.att(ds.X, al, { query = 2 })
    local r2 = svm.att(ds.X, al, { Z = Z })
    assert.is_true(H.maxdiff(r1.W, r2.W) <= 1e-12)
    for i = 1, 3 do Z[i] = ds.X[i][1] end
    local r3 = svm.att(ds.X, al)
    local r4 = svm.att(ds.X, al, { Z = Z })
    assert.is_true(H.maxdiff(r3.W, r4.W) <= 1e-12)
  end)

  it("F4: duplicated optimal token or z_i = 0 is infeasible with certificate e_k", function()
    local X = { { { 1, 0 }, { 0, 1 }, { 1, 0 } }, { { 0, 1 }, { 1, 1 }, { 2, 1 } } }
    local X2 = { { { 1, 0 }, { 0, 1 }, { 1, 0 } } }
    local r = svm.att(X2, { 1 }, { Z = { { 1, 1 } } })
    assert.are.equal("infeasible", r.status)
    H.vclose(r.farkas, { 0, 1 }, 0, "farkas")
    assert.are.equal(0, r.farkas_residual)
    r = svm.att({ X[2] }, { 1 }, { Z = { { 0, 0 } } })
    assert.are.equal("infeasible", r.status)
    H.vclose(r.farkas, { 1, 0 }, 0, "farkas")
    -- relaxed (rhs 0) zero rows are dropped instead
    r = svm.att(X, { 1, 1 }, { Z = { { 1, 1 }, { 1, 0 } }, relax = { 1 } })
    assert.are.equal("optimal", r.status)
  end)

  it("duplicate non-selected tokens are harmless (same solution as without them)", function()
    local ds = H.instance(21, 3, 4, 6)
    local al = H.opt(ds)
    local r = svm.att(ds, al)
    local X2 = {}
    for i = 1, 3 do
      X2[i] = {}
      for t = 1, 4 do X2[i][t] = ds.X[i][t] end
      local dup = al[i] == 1 and 2 or 1
      X2[i][5] = ds.X[i][dup]
    end
    local sc = { N = 36, fmax = H.fmax(H.vec_rows(ds, al)) }
    for _, method in ipairs { "auto", "ipm", "activeset" } do
      local r2 = svm.att(X2, al, { Z = ds.Z, method = method })
      certified(r2)
      H.within_distance(r.W, r, r2.W, r2, sc, "duplicates, " .. method)
    end
  end)

  it("empty constraint set (T = 1) and d = 1", function()
    local r = svm.att({ { { 1, 2 } }, { { 3, 4 } } }, { 1, 1 }, { Z = { { 1, 0 }, { 0, 1 } } })
    assert.are.equal("optimal", r.status)
    assert.are.equal(0, r.m)
    H.vclose(r.W, { 0, 0, 0, 0 }, 0, "W")
    assert.are.equal(0, r.objective)
    r = svm.att({ { { 2 }, { -1 } }, { { 1 }, { 0.5 } } }, { 1, 1 }, { Z = { { 1 }, { 2 } } })
    certified(r)
    -- rows 3 W >= 1 and 1 W >= 1 -> W = 1/3? no: second row (1 - 0.5) * 2 = 1 -> W >= 1
    H.vclose(r.W, { 1 }, 1e-10, "W")
    r = svm.att({ { { 2 }, { -1 } }, { { 1 }, { 0.5 } } }, { 1, 1 }, { Z = { { 1 }, { -2 } } })
    assert.are.equal("infeasible", r.status)
    assert.is_true(r.farkas_residual <= 1e-12)
  end)

  it("NaN and bad shapes raise clear errors", function()
    assert.has_error(function() svm.att({ { { 0 / 0, 1 }, { 1, 0 } } }, { 1 }) end,
      "svm.att: X contains NaN or Inf")
    assert.has_error(function() svm.att({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { Z = { { 1, 0, 0 } } }) end,
      "svm.att: option Z: 1x2 query matrix expected, got 1x3")
    assert.has_error(function() svm.att({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { Z = "z" }) end,
      "svm.att: option Z: 1x2 query matrix expected, got string")
    assert.has_error(function() svm.prompt({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { W = true }) end,
      "svm.prompt: option W: 2xk key matrix expected, got boolean")
    assert.has_error(function() svm.prompt({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { W = { { 1, 0 } } }) end,
      "svm.prompt: option W: 2xk key matrix expected, got 1x2")
    assert.has_error(function() svm.att({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { query = 3 }) end,
      "svm.att: option query: token index in [1, 2] expected, got 3")
    assert.has_error(function() svm.att({ { { 1, 1 }, { 1, 0 } } }, { 1 }, { norm = "max" }) end,
      'svm.att: option norm: "fro", "nuc", "spec", "inf", "l1" or a number p in [1, inf] expected, got "max"')
    assert.has_error(function() svm.att({ { { 1, 1 }, { 1 } } }, { 1 }) end,
      "svm.att: X: ragged table (row of length 1, expected 2)")
  end)

  it("nuclear and l_p norms route to the conic solvers (or say they are not available)", function()
    local X = { { e(3, 1), e(3, 2), e(3, 3) } }
    if svm.has_conic then
      -- closed-form values inside the certified brackets (rows |a_k| |z_k| <= 2 sqrt 2 here)
      local function nuc(r, d) return { e = H.cert_rounding_nuclear(r, d, 2 * math.sqrt(2)) } end
      -- C1: rank one, nuclear = Frobenius solution
      local r = svm.att(X, { 1 }, { Z = { { 0, 0, 2 } }, norm = "nuc" })
      assert.are.equal("optimal", r.status)
      H.brackets(r, 1 / math.sqrt(6), nuc(r, 3), "C1")
      assert.is_true(H.maxdiff(r.W, { 0, 0, 1 / 3, 0, 0, -1 / 6, 0, 0, -1 / 6 }) <= 1e-4)
      assert.are.same({ { 2, 3 } }, r.support)
      -- C2: orthogonal constraints, |W|_* = sqrt 2
      r = svm.att({ { e(4, 1), e(4, 2) }, { e(4, 3), e(4, 4) } }, { 1, 1 },
        { Z = { e(4, 1), e(4, 3) }, norm = "nuc" })
      assert.are.equal("optimal", r.status)
      H.brackets(r, math.sqrt(2), nuc(r, 4), "C2")
      -- D1: value 2 (the optimal face is not a singleton: assert the value only)
      r = svm.att({ { e(2, 1), zero(2) }, { e(2, 2), zero(2) } }, { 1, 1 },
        { Z = { e(2, 1), e(2, 2) }, norm = "nuc" })
      H.brackets(r, 2, nuc(r, 2), "D1")
      -- l_p (Hoelder, C.8): one row <A, W> >= 1 has value 1/|A|_q
      r = svm.att({ { { 1, 2 }, { 0, 0 } } }, { 1 }, { Z = { { 1, -1 } }, norm = 3 })
      assert.are.equal("optimal", r.status)
      local q = 1.5
      H.brackets(r, 1 / (2 + 2 * 2 ^ q) ^ (1 / q), { e = H.cert_rounding(r, 4, 2 * math.sqrt(2), 2 * r.objective) }, "l3")
    else
      assert.has_error(function() svm.att(X, { 1 }, { Z = { { 0, 0, 2 } }, norm = "nuc" }) end,
        'svm.att: norm "nuc" is not available yet (the conic solvers have not landed in this build)')
      assert.has_error(function() svm.att(X, { 1 }, { norm = 3 }) end)
    end
  end)
end)

describe("svm.seq (SAtt-SVM)", function()
  it("full mask: orthogonal constraints; causal: the first position imposes nothing", function()
    local X = { { e(2, 1), e(2, 2) } }
    local r = svm.seq(X, { { 1, 2 } })
    certified(r)
    H.vclose(r.W, { 0.5, -0.5, -0.5, 0.5 }, 1e-12, "W full")
    assert.are.same({ 1, 1 }, r.rows.sample)
    assert.are.same({ 1, 2 }, r.rows.pos)
    assert.are.same({ 2, 1 }, r.rows.token)
    assert.are.same({ { { 2 }, { 1 } } }, r.support)
    r = svm.seq(X, { { 1, 2 } }, { mask = "causal" })
    certified(r)
    assert.are.equal(1, r.m)
    H.vclose(r.W, { 0, -0.5, 0, 0.5 }, 1e-12, "W causal")
    assert.has_error(function() svm.seq(X, { { 2, 2 } }, { mask = "causal" }) end,
      "svm.seq: bad argument #2 (alpha[1][1] = 2 is not visible under the causal mask (must be <= 1))")
  end)

  it("agrees with the d^2 primal on a random instance", function()
    local ds = H.instance(4, 2, 4, 6)
    local alpha = { { 1, 1, 2, 3 }, { 1, 1, 3, 4 } }
    local r = svm.seq(ds, alpha, { mask = "causal" })
    certified(r)
    -- rows for the causal mask, built here in Lua
    local F, ones = {}, {}
    for i = 1, 2 do
      for k = 1, 4 do
        for t = 1, k do
          if k > 1 and t ~= alpha[i][k] then
            local row = {}
            for j1 = 1, 6 do
              for j2 = 1, 6 do
                row[#row + 1] = (ds.X[i][alpha[i][k]][j1] - ds.X[i][t][j1]) * ds.X[i][k][j2]
              end
            end
            F[#F + 1] = row; ones[#ones + 1] = 1
          end
        end
      end
    end
    assert.are.equal(#F, r.m)
    local r2 = svm.hard_margin(F, ones, { form = "primal", method = "ipm" })
    certified(r2)
    H.agree(r, r2, { N = #F[1], fmax = H.fmax(F) }, "seq vs its d^2-variable primal")
  end)
end)

describe("svm.gen (generalized SVM equivalence)", function()
  it("E1: W_fin from probabilities (3/4, 1/4)", function()
    local r = svm.gen({ { e(2, 1), e(2, 2) } }, { { 0.75, 0.25 } }, { Z = { e(2, 1) } })
    local c = math.log(3) / 2
    H.vclose(r.W_fin, { c, 0, -c, 0 }, 1e-12, "W_fin")
    H.close(H.norm(r.W_fin), math.log(3) / math.sqrt(2), 1e-12)
    assert.are.equal(1, r.n_eq)
    assert.are.equal(0, r.n_ineq)
    assert.is_true(r.accept.finite)
    assert.is_false(r.accept.ok)
    assert.are.same({ { 1, 2 } }, r.selected)
  end)

  it("E2: W_dir with one equality and two inequalities", function()
    local r = svm.gen({ { e(2, 1), e(2, 2), zero(2) } }, { { 0.5, 0.5, 1e-9 } },
      { Z = { e(2, 1) }, probs = true })
    assert.are.equal("optimal", r.status)
    H.vclose(r.W_dir, { 1, 0, 1, 0 }, 1e-10, "W_dir")
    H.vclose(r.W_fin, { 0, 0, 0, 0 }, 1e-14, "W_fin")
    assert.is_true(r.dir.rel_gap <= 1e-9)
    assert.is_true(r.dir_eq_residual <= 1e-12)
    assert.is_nil(r.R)
    assert.are.same({ { 3 } }, r.masked)
    assert.is_true(r.accept.ok)
    assert.is_false(r.accept.ambiguous)
  end)

  it("from W_GD: W_fin is the projection of W_GD, R = <W_GD, W_dir>/|W_dir|^2", function()
    local X = { { { 1, 0.3, 0, 0.2 }, { 0, 0.5, 0, 1 }, { 0.2, 0.1, 1, 0.4 } },
                { { 0.3, 1, 0.5, 0 }, { 1, 0, 0.7, 0.1 }, { 0.2, -1, 0.1, 1 } } }
    local Z = { e(4, 1), e(4, 2) }
    -- columns 1, 2 give the logits; 3, 4 are invisible to the data
    local Wgd = { { 0.1, 0, 0.5, -0.2 }, { 0, 0.2, 0.3, 0.1 }, { -40, 0, 0.2, 0.7 }, { 0, -30, -0.4, 0.3 } }
    local r = svm.gen(X, Wgd, { Z = Z })
    assert.are.same({ { 1, 2 }, { 1, 2 } }, r.selected)
    assert.are.same({ { 3 }, { 3 } }, r.masked)
    assert.is_true(r.accept.ok)
    assert.is_true(r.fin_residual <= 1e-12)
    assert.is_true(r.dir.rel_gap <= 1e-9)
    local Wf, Wd, W = H.vals(r.W_fin), H.vals(r.W_dir), {}
    for i = 1, 4 do for j = 1, 4 do W[#W + 1] = Wgd[i][j] end end
    -- <W_GD - W_fin, B> = 0 for B = (x_2 - x_1) z_i^T
    for i = 1, 2 do
      local s = 0
      for a = 1, 4 do
        for b = 1, 4 do s = s + (X[i][2][a] - X[i][1][a]) * (W[(a - 1) * 4 + b] - Wf[(a - 1) * 4 + b]) * Z[i][b] end
      end
      H.close(s, 0, 1e-12, "orthogonality")
    end
    local num, den, cross = 0, 0, 0
    for k = 1, 16 do num = num + W[k] * Wd[k]; den = den + Wd[k] ^ 2; cross = cross + Wf[k] * Wd[k] end
    H.close(cross, 0, 1e-12, "<W_fin, W_dir>")
    H.close(r.R, num / den, 1e-10, "R")
    local We = H.vals(r.W_eq)
    for k = 1, 16 do H.close(We[k], Wf[k] + r.R * Wd[k], 1e-12) end
    -- every |O_i| = 1 reduces to the single-token Att-SVM
    -- (logits 9, 0, < -38 in both samples: softmax mass 1.2e-4 < tau_h off token 1; the
    -- former W_GD = diag(3, 9, ...) selected two tokens in sample 1 and this check never ran)
    local Wgd2 = { { 9, 0, 0, 0 }, { 0, 9, 0, 0 }, { -40, 0, 0, 0 }, { 0, -30, 0, 0 } }
    local r2 = svm.gen(X, Wgd2, { Z = Z, tau_h = 1e-3 })
    assert.are.same({ { 1 }, { 1 } }, r2.selected)
    local ra = svm.att(X, { 1, 1 }, { Z = Z })
    certified(ra)
    -- two certified solves of one Frobenius SVM (no equality rows: nothing is projected)
    H.within_distance(r2.W_dir, r2.dir, ra.W, ra, { N = 16, fmax = H.fmax(H.vec_rows({ X = X, Z = Z }, { 1, 1 })) },
      "W_dir vs att")
    H.vclose(r2.W_fin, zero(16), 0, "W_fin")
  end)

  it("nuclear norm: E1 and E2 closed forms", function()
    if not svm.has_conic then return end
    local r = svm.gen({ { e(2, 1), e(2, 2) } }, { { 0.75, 0.25 } }, { Z = { e(2, 1) }, norm = "nuc" })
    local c = math.log(3) / 2
    assert.is_true(H.maxdiff(r.W_fin, { c, 0, -c, 0 }) <= 1e-6)
    r = svm.gen({ { e(2, 1), e(2, 2), zero(2) } }, { { 0.5, 0.5, 1e-9 } },
      { Z = { e(2, 1) }, probs = true, norm = "nuc" })
    assert.are.equal("optimal", r.status)
    H.close(r.dir.objective, math.sqrt(2), 1e-6)
    assert.is_true(H.maxdiff(r.W_dir, { 1, 0, 1, 0 }) <= 1e-4)
    assert.is_true(r.dir_eq_residual <= 1e-8)
  end)

  it("errors", function()
    assert.has_error(function() svm.gen({ { e(2, 1), e(2, 2) } }, { { 1e-9, 1e-9 } }, { Z = { e(2, 1) } }) end,
      "svm.gen: sample 1 has no token with probability >= tau_h")
    assert.has_error(function() svm.gen({ { e(2, 1), e(2, 2) } }, { { 1, 2, 3 } }, { Z = { e(2, 1) } }) end,
      "svm.gen: bad argument #2 (2x2 W_gd or 1x2 probabilities expected, got 1x3)")
  end)
end)

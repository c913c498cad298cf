-- Conic max-margin solvers: svm.nuclear_raw, svm.nuclear_admm_raw, svm.lp_raw, svm.lp_vec_raw
-- (docs/svm_conic.md). Closed forms from theory.md §C.3/§C.8 and solvers.md §4.
require "hardmax"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

describe("svm conic solvers", function()
  local svm = require "hardmax.svm"
  local mat = require "hardmax.mat"

  -- Values known in closed form are checked against the certified bracket [dual_objective,
  -- objective] (H.brackets, docs/testing.md): the nuclear solver's requested gap is 1e-6, so
  -- a fixed 1e-8..1e-10 asserted more than it certifies. e: endpoint rounding (H.cert_rounding;
  -- nuclear: + the SVD's d^2 eps; l_p with p > 2: |x|_2 <= sqrt(N) |x|_p in kappa).
  local function enuc(r, d, fmax) return { e = H.cert_rounding_nuclear(r, d, fmax) } end
  local function elp(r, N, fmax) return { e = H.cert_rounding(r, N, fmax, math.sqrt(N) * r.objective) } end
  local function rowmax(A, Z)
    local f = 0
    for k = 1, #A do f = math.max(f, H.norm(A[k]) * H.norm(Z[k])) end
    return f
  end

  local function close(a, b, tol)
    tol = tol or 1e-8
    assert(math.abs(a - b) <= tol * (1 + math.abs(b)),
      string.format("expected %.17g, got %.17g (tol %g)", b, a, tol))
  end

  -- deterministic normal generator (keeps the spec independent of other modules)
  local function gen(seed)
    local s = seed
    local function unif()
      s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
      return ((s >> 11) + 0.5) / (1 << 52)
    end
    return function()
      return math.sqrt(-2 * math.log(unif())) * math.cos(2 * math.pi * unif())
    end
  end

  -- cross-attention instance: n sequences, T - 1 rows each, b = 1
  local function instance(seed, n, T, d)
    local g = gen(seed)
    local A, Z, b = {}, {}, {}
    for _ = 1, n do
      local z = {}
      for j = 1, d do z[j] = g() end
      for _ = 1, T - 1 do
        local a = {}
        for j = 1, d do a[j] = g() end
        A[#A + 1] = a
        Z[#Z + 1] = z
        b[#b + 1] = 1
      end
    end
    return A, Z, b
  end

  local function sum(t)
    local s = 0
    for _, v in ipairs(t) do s = s + v end
    return s
  end

  local function frob(W)
    local s = 0
    for _, row in ipairs(W) do for _, v in ipairs(row) do s = s + v * v end end
    return math.sqrt(s)
  end

  -- verify a Farkas certificate: lambda >= 0, b.lambda = 1, sum lambda_k a_k z_k^T = 0
  local function check_farkas(A, Z, b, lam)
    local d = #A[1]
    local bl, l1 = 0, 0
    local G = {}
    for i = 1, d do G[i] = {} for j = 1, d do G[i][j] = 0 end end
    for k = 1, #A do
      assert.is_true(lam[k] >= 0)
      bl = bl + b[k] * lam[k]
      l1 = l1 + lam[k]
      for i = 1, d do for j = 1, d do G[i][j] = G[i][j] + lam[k] * A[k][i] * Z[k][j] end end
    end
    close(bl, 1, 1e-12)
    assert.is_true(frob(G) <= 1e-9 * l1 * 10)
  end

  describe("nuclear_raw", function()
    it("single constraint: W = u1 v1^T / sigma1(A), value 1/norm_2(A) (= Frobenius)", function()
      local a, z = { 1, -2, 0.5 }, { 0.3, 1, 2 }
      local na2 = 1 + 4 + 0.25
      local nz2 = 0.09 + 1 + 4
      local r = svm.nuclear_raw({ a }, { z }, { 1 }, { tables = true })
      assert.are.equal("optimal", r.status)
      local fm = math.sqrt(na2 * nz2)
      H.brackets(r, 1 / fm, enuc(r, 3, fm), "1/(|a||z|)")
      assert.is_true(r.rel_gap <= 1e-6)
      -- rank-one Frobenius optimum = nuclear optimum: W within the bracket's distance bound
      local Wx = {}
      for i = 1, 3 do Wx[i] = {} for j = 1, 3 do Wx[i][j] = a[i] * z[j] / (na2 * nz2) end end
      H.within_distance(r.W, r, Wx, H.exact(1 / fm), enuc(r, 3, fm), "W")
      assert.are.equal(1, r.rank)
      assert.are.equal(1, r.dual_rank)
      local f = svm.lp_raw({ a }, { z }, { 1 }, 2, { tables = true })
      H.agree(f, r, { e = math.max(enuc(r, 3, fm).e, elp(f, 9, fm).e) }, "Frobenius = nuclear")
    end)

    it("Appendix item 3: Frobenius = nuclear = l3 (4 active rows, 4 unknowns)", function()
      local A = { { 0, 1 }, { 1, 0 }, { -0.5, -1.5 }, { 1.5, -1 } }
      local Z = { { 1, 0 }, { 1, 0 }, { 0, 1 }, { 0, 1 } }
      local b = { 1, 1, 1, 1 }
      local W = { { 1, 2 / 11 }, { 1, -8 / 11 } }
      local n = svm.nuclear_raw(A, Z, b, { tables = true })
      local f = svm.lp_raw(A, Z, b, 2, { tables = true })
      local l3 = svm.lp_raw(A, Z, b, 3, { tables = true })
      for _, r in ipairs { n, f, l3 } do
        assert.are.equal("optimal", r.status)
        for i = 1, 2 do for j = 1, 2 do close(r.W[i][j], W[i][j], 1e-6) end end
        assert.are.same({ 1, 2, 3, 4 }, r.support)
      end
      close(n.objective, sum(n.singular_values), 1e-12)
      local fm = rowmax(A, Z)
      -- 2 x 2: |W|_* = sqrt(|W|_F^2 + 2 |det W|), det W = -10/11
      H.brackets(n, math.sqrt(frob(W) ^ 2 + 20 / 11), enuc(n, 2, fm), "nuclear")
      H.brackets(f, frob(W), elp(f, 4, fm), "Frobenius")
      local l3v = (1 + (2 / 11) ^ 3 + 1 + (8 / 11) ^ 3) ^ (1 / 3)
      H.brackets(l3, l3v, elp(l3, 4, fm), "l3")
    end)

    it("non-unique face W11 >= 1, W22 >= 1: value 2, analytic centre", function()
      local r = svm.nuclear_raw({ { 1, 0 }, { 0, 1 } }, { { 1, 0 }, { 0, 1 } }, { 1, 1 },
        { tables = true })
      assert.are.equal("optimal", r.status)
      H.brackets(r, 2, enuc(r, 2, 1), "face")
      close(r.lambda[1], 1, 1e-6)
      close(r.lambda[2], 1, 1e-6)
      -- D2: adding W12 >= 1 makes W = [[1,1],[1,1]] unique (degenerate multiplier 0)
      local r2 = svm.nuclear_raw({ { 1, 0 }, { 0, 1 }, { 1, 0 } }, { { 1, 0 }, { 0, 1 }, { 0, 1 } },
        { 1, 1, 1 }, { tables = true })
      H.brackets(r2, 2, enuc(r2, 2, 1), "D2")
      for i = 1, 2 do for j = 1, 2 do close(r2.W[i][j], 1, 1e-3) end end
    end)

    it("random n=5, T=5, d=10: certified gap, ADMM cross-check, rank bounds", function()
      for seed = 1, 2 do
        local A, Z, b = instance(seed, 5, 5, 10)
        local r = svm.nuclear_raw(A, Z, b, { tables = true })
        assert.are.equal("optimal", r.status)
        assert.is_true(r.rel_gap <= 1e-6 and r.rel_gap >= -1e-12)
        assert.is_true(r.primal_infeas <= 1e-12)
        close(r.dual_spectral, 1, 1e-6)
        close(r.objective, sum(r.singular_values), 1e-12)
        assert.is_true(r.rank >= 1 and r.rank <= r.dual_rank)
        assert.is_true(r.rank < 5) -- nuclear solutions have rank below n (theory.md §C.3)
        local adm = svm.nuclear_admm_raw(A, Z, b, { tol = 1e-8, tables = true })
        assert.are.equal("optimal", adm.status)
        local fm = rowmax(A, Z)
        local en = math.max(enuc(r, 10, fm).e, enuc(adm, 10, fm).e)
        H.agree(adm, r, { e = en }, "ADMM vs SDP IPM")
        -- Frobenius solution: norm inequalities
        local f = svm.lp_raw(A, Z, b, 2, { tables = true })
        -- each solution is feasible for the other norm's problem, so each certified lower
        -- bound is below the other solution's norm (was: objective <= ... * (1 + 1e-9),
        -- tighter than the nuclear solver's certified 1e-6)
        assert.is_true(r.dual_objective <= sum(f.singular_values) * (1 + 3 * en))
        assert.is_true(f.dual_objective <= frob(r.W) * (1 + 3 * elp(f, 100, fm).e))
        assert.are.equal(5, f.rank)
      end
    end)

    it("accepts mat arguments and returns mats", function()
      local r = svm.nuclear_raw(mat.zeros(2, 3), mat.zeros(2, 3), mat.zeros(2))
      assert.are.equal("optimal", r.status)
      assert.are.equal(0, r.objective)
      assert.are.same({ 3, 3 }, { r.W:shape() })
      assert.are.same({ 2 }, { r.lambda:shape() })
    end)

    it("equality rows (eq option)", function()
      local a, z = { 1, 2, -1 }, { 0, 1, 1 }
      local r = svm.nuclear_raw({ a }, { z }, { -2 }, { eq = { true }, tables = true })
      assert.are.equal("optimal", r.status)
      H.brackets(r, 2 / math.sqrt(6 * 2), enuc(r, 3, math.sqrt(12)), "eq row")
      -- W* = c a z^T / (|a|^2 |z|^2), rank one: within the bracket's distance bound
      local Wx = {}
      for i = 1, 3 do Wx[i] = {} for j = 1, 3 do Wx[i][j] = -2 * a[i] * z[j] / 12 end end
      H.within_distance(r.W, r, Wx, H.exact(2 / math.sqrt(12)), enuc(r, 3, math.sqrt(12)), "W")
    end)

    it("infeasible instances return a verified Farkas certificate", function()
      -- duplicate optimal token: zero row
      local r = svm.nuclear_raw({ { 0, 0 }, { 1, 0 } }, { { 1, 0 }, { 0, 1 } }, { 1, 1 },
        { tables = true })
      assert.are.equal("infeasible", r.status)
      assert.are.same({ 1, 0 }, r.farkas)
      assert.are.equal(math.huge, r.objective)
      -- d = 1: w >= 1 and -w >= 1
      local A, Z, b = { { 1 }, { -1 } }, { { 1 }, { 1 } }, { 1, 1 }
      r = svm.nuclear_raw(A, Z, b, { tables = true })
      assert.are.equal("infeasible", r.status)
      check_farkas(A, Z, b, r.farkas)
      -- three directions at 120 degrees (F2)
      local s = math.sqrt(3) / 2
      A, Z, b = { { 1, 0 }, { -0.5, s }, { -0.5, -s } }, { { 1, 0 }, { 1, 0 }, { 1, 0 } }, { 1, 1, 1 }
      r = svm.nuclear_raw(A, Z, b, { tables = true })
      assert.are.equal("infeasible", r.status)
      check_farkas(A, Z, b, r.farkas)
      assert.is_true(r.farkas_residual <= 1e-9)
      -- random d = 2 with many sequences
      A, Z, b = instance(5, 10, 6, 2)
      r = svm.nuclear_raw(A, Z, b, { tables = true })
      assert.are.equal("infeasible", r.status)
      check_farkas(A, Z, b, r.farkas)
      local l = svm.lp_raw(A, Z, b, 1.5, { tables = true })
      assert.are.equal("infeasible", l.status)
      check_farkas(A, Z, b, l.farkas)
    end)

    it("rejects bad input with clear errors", function()
      assert.has_error(function() svm.nuclear_raw({ { 0 / 0, 1 } }, { { 1, 0 } }, { 1 }) end,
        "svm.nuclear_raw: bad argument #1 (A contains NaN at entry (1, 1))")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0 } }, { math.huge }) end,
        "svm.nuclear_raw: bad argument #3 (b contains Inf at entry 1)")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0, 1 } }, { 1 }) end,
        "svm.nuclear_raw: bad argument #2 (Zr must be 1x2 like A, got 1x3)")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0 } }, { 1, 2 }) end,
        "svm.nuclear_raw: bad argument #3 (b must have 1 entries (one per constraint row), got 2)")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0 } }, { 1 }, { tolerance = 1 }) end,
        "svm.nuclear_raw: unknown option 'tolerance' (valid options: tol, max_iter, tables, rank_tol, eq, d)")
      assert.has_error(function() svm.nuclear_raw("A", { { 1, 0 } }, { 1 }) end,
        "svm.nuclear_raw: bad argument #1 (A: mat or table of rows expected, got string)")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 }, { 1 } }, { { 1, 0 } }, { 1 }) end,
        "svm.nuclear_raw: bad argument #1 (A: row 2 has 1 entries, expected 2 like row 1)")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0 } }, { 1 }, { eq = { 1 } }) end,
        "svm.nuclear_raw: option 'eq': entry 1 must be a boolean, got number")
      assert.has_error(function() svm.nuclear_raw({ { 1, 1 } }, { { 1, 0 } }, { 1 }, { tol = -1 }) end)
      assert.has_error(function() svm.nuclear_raw(mat.zeros(2), mat.zeros(2, 2), { 1, 1 }) end,
        "svm.nuclear_raw: bad argument #1 (A must be a matrix (rank 2), got an array of shape 2)")
      assert.has_error(function() svm.nuclear_admm_raw({ { 1, 1 } }, { { 1, 0 } }, { 1 }, { eq = { true } }) end)
    end)

    it("SAtt-SVM nuclear (svm.seq norm = nuc) equals nuclear_raw on the explicit rows", function()
      local X = { { { 1, 0, 0 }, { 0, 1, 0.5 }, { 0.2, 0, 1 } }, { { 0, 1, 1 }, { 1, 0, 0 }, { 0.5, 0.5, 0 } } }
      for _, case in ipairs { { "full", { { 1, 2, 3 }, { 2, 2, 1 } } }, { "causal", { { 1, 2, 3 }, { 1, 2, 1 } } } } do
        local mask, alpha = case[1], case[2]
        local A, Z, b = {}, {}, {}
        for i = 1, #X do
          for k = 1, 3 do
            local last = mask == "causal" and k or 3
            for t = 1, last do
              if t ~= alpha[i][k] then
                local a = {}
                for j = 1, 3 do a[j] = X[i][alpha[i][k]][j] - X[i][t][j] end
                A[#A + 1], Z[#Z + 1], b[#b + 1] = a, X[i][k], 1
              end
            end
          end
        end
        local s = svm.seq(X, alpha, { norm = "nuc", mask = mask })
        local r = svm.nuclear_raw(A, Z, b, { tables = true })
        assert.are.equal("optimal", s.status)
        assert.are.equal("optimal", r.status)
        close(s.objective, r.objective, 1e-7)
        assert.is_true(r.rel_gap <= 1e-6)
      end
    end)

    it("empty constraint sets give W = 0", function()
      local r = svm.nuclear_raw({}, {}, {}, { d = 3, tables = true })
      assert.are.equal("optimal", r.status)
      assert.are.equal(0, r.objective)
      assert.are.equal(3, #r.W)
      assert.are.equal(0, r.rank)
    end)
  end)

  describe("lp_raw / lp_vec_raw", function()
    it("Hoelder single row for p in {1.5, 1.75, 3}", function()
      local a, z = { 1, -2, 3 }, { 0.5, 1, -1 }
      for _, p in ipairs { 1.5, 1.75, 3 } do
        local q = p / (p - 1)
        local Aq = 0
        for i = 1, 3 do for j = 1, 3 do Aq = Aq + math.abs(a[i] * z[j]) ^ q end end
        local r = svm.lp_raw({ a }, { z }, { 1 }, p, { tables = true })
        assert.are.equal("optimal", r.status)
        assert.are.equal(p, r.p)
        assert.is_true(r.rel_gap <= 1e-9)
        H.brackets(r, Aq ^ (-1 / q), elp(r, 9, H.norm(a) * H.norm(z)), "Hoelder W")
        for i = 1, 3 do
          for j = 1, 3 do
            local e = a[i] * z[j]
            local s = e < 0 and -1 or 1
            close(r.W[i][j], s * math.abs(e) ^ (q - 1) / Aq, 1e-9)
          end
        end
        local f = { 2, -1, 0.5 }
        local fq = 0
        for i = 1, 3 do fq = fq + math.abs(f[i]) ^ q end
        local v = svm.lp_vec_raw({ f }, { 1 }, p, { tables = true })
        H.brackets(v, fq ^ (-1 / q), elp(v, 3, H.norm(f)), "Hoelder x")
        close(v.x[2], -(1 ^ (q - 1)) / fq, 1e-9)
      end
    end)

    it("v-SVM closed forms (theory.md §C.6, solvers.md B5/B6)", function()
      local F = { { 1, 1 }, { -1, 1 }, { 0.5, 1 } }
      for _, p in ipairs { 1.3, 2, 3, 5 } do
        local r = svm.lp_vec_raw(F, { 1, 1, 1 }, p, { tables = true })
        assert.are.equal("optimal", r.status)
        close(r.x[1], 0, 1e-8)
        close(r.x[2], 1, 1e-8)
      end
      local r = svm.lp_vec_raw({ { 1, 1 }, { 1, -1 }, { 0.5, 1 } }, { 1, 1, 1 }, 2, { tables = true })
      close(r.x[1], 4 / 3, 1e-9)
      close(r.x[2], 1 / 3, 1e-9)
      assert.are.same({ 2, 3 }, r.support)
      r = svm.lp_vec_raw({ { 1, 1 }, { 1, -1 }, { 0.5, 1 } }, { 1, 1, 0 }, 2, { tables = true })
      close(r.x[1], 1, 1e-8)
      close(r.x[2], 0, 1e-8)
    end)

    it("random W instances: certified gap and each norm's optimality", function()
      local A, Z, b = instance(3, 5, 5, 10)
      local f = svm.lp_raw(A, Z, b, 2, { tables = true })
      for _, p in ipairs { 1.5, 3 } do
        local r = svm.lp_raw(A, Z, b, p, { tables = true })
        assert.are.equal("optimal", r.status)
        assert.is_true(r.rel_gap <= 1e-9)
        local function pn(W, pp)
          local s = 0
          for _, row in ipairs(W) do for _, v in ipairs(row) do s = s + math.abs(v) ^ pp end end
          return s ^ (1 / pp)
        end
        -- one quantity computed twice (C and Lua, other order and pow): <= (N + 4) eps
        -- relative for a sum of N = 100 nonnegative terms and two pows; 1e-12 is 45x that
        close(r.objective, pn(r.W, p), 1e-12)
        local fm = rowmax(A, Z)
        assert.is_true(r.dual_objective <= pn(f.W, p) * (1 + 3 * elp(r, 100, fm).e))
        assert.is_true(f.dual_objective <= pn(r.W, 2) * (1 + 3 * elp(f, 100, fm).e))
      end
    end)

    it("infeasible vector problems and bad p", function()
      local r = svm.lp_vec_raw({ { 1 }, { -1 } }, { 1, 1 }, 3, { tables = true })
      assert.are.equal("infeasible", r.status)
      close(r.farkas[1], 0.5, 1e-9)
      close(r.farkas[2], 0.5, 1e-9)
      assert.has_error(function() svm.lp_vec_raw({ { 1 } }, { 1 }, 0.9) end,
        "svm.lp_vec_raw: bad argument #3 (p must satisfy 1 <= p <= inf (math.huge), got 0.9)")
      assert.has_error(function() svm.lp_vec_raw({ { 1 } }, { 1 }, "2") end)
      assert.has_error(function() svm.lp_raw({ { 1 } }, { { 1 } }, { 1 }, -math.huge) end,
        "svm.lp_raw: bad argument #4 (p must satisfy 1 <= p <= inf (math.huge), got -inf)")
      assert.has_error(function() svm.lp_vec_raw({ { 0 / 0 } }, { 1 }, 2) end,
        "svm.lp_vec_raw: bad argument #1 (F contains NaN)")
    end)
  end)
end)

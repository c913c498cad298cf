-- mat: LAPACKE-backed linear algebra, checked against hand-computed values and identities.
require "hardmax"
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"

-- Tolerances (docs/testing.md): the matrices here have n <= 5 rows/columns and entries O(1).
-- LAPACK's factorizations are backward stable, |A - computed factors| <= p(n) eps |A|_2 with
-- p(n) a modest function of n (take 10 n); comparing max entries costs another factor n
-- (|A|_2 <= n max|a_ij|) and re-multiplying the factors adds n eps per product, so an
-- identity holds within ~ 12 n^2 eps max|a| <= 6.7e-14 (1 + max|E|): 1e-13 at the sites.
-- Hand-computed values of well-conditioned 2x2 / 3x3 problems use the default 1e-12.
local function near(expected, got, tol)
  tol = tol or 1e-12
  if type(got) == "number" then
    assert.is_true(math.abs(got - expected) <= tol * (1 + math.abs(expected)),
      ("expected %.17g, got %.17g"):format(expected, got))
  else
    local E = type(expected) == "table" and mat.new(expected) or expected
    assert.are.same({ E:shape() }, { got:shape() })
    local d = (got - E):abs():max()
    assert.is_true(d <= tol * (1 + E:abs():max()), ("max deviation %g"):format(d))
  end
end

local g = rng.new(42)
local A = mat.new { { 4, 1, 2 }, { 1, 3, 0 }, { 2, 0, 5 } } -- symmetric positive definite
local B = mat.randn(g, 5, 3)                                    -- tall
local C = mat.randn(g, 3, 5)                                    -- wide

describe("mat.svd", function()
  it("thin by default, U S Vt = A with orthonormal factors", function()
    for _, M in ipairs { A, B, C } do
      local U, S, Vt = M:svd()
      local m, n = M:shape()
      local k = math.min(m, n)
      assert.are.same({ m, k }, { U:shape() })
      assert.are.same({ k }, { S:shape() })
      assert.are.same({ k, n }, { Vt:shape() })
      near(M, U * mat.diag(S) * Vt, 1e-13)
      near(mat.eye(k), U:t() * U, 1e-13)
      near(mat.eye(k), Vt * Vt:t(), 1e-13)
      for i = 2, k do assert.is_true(S:get(i - 1) >= S:get(i)) end
    end
  end)

  it("known singular values and the full option", function()
    local _, S = mat.new({ { 3, 0 }, { 0, -4 }, { 0, 0 } }):svd()
    near({ 4, 3 }, S)
    local U, S2, Vt = B:svd { full = true }
    assert.are.same({ 5, 5 }, { U:shape() })
    assert.are.same({ 3, 3 }, { Vt:shape() })
    near(mat.eye(5), U:t() * U, 1e-13)
    near(B:svdvals(), S2)
    local Sig = mat.zeros(5, 3)
    for i = 1, 3 do Sig:set(i, i, S2:get(i)) end
    near(B, U * Sig * Vt, 1e-13)
    assert.has_error(function() B:svd { ful = true } end,
      "mat.svd: unknown option 'ful' (valid options: full)")
  end)

  it("rejects non-finite entries and non-matrices", function()
    assert.has_error(function() mat.new({ { 1, 0 / 0 } }):svd() end,
      "mat.svd: bad argument #1 (finite entries expected, got NaN or Inf)")
    assert.has_error(function() mat.new({ { 1, math.huge } }):svdvals() end,
      "mat.svdvals: bad argument #1 (finite entries expected, got NaN or Inf)")
    assert.has_error(function() mat.ones(3):svd() end,
      "mat.svd: bad argument #1 (rank-2 mat expected, got shape 3)")
  end)

  it("handles empty matrices", function()
    local U, S, Vt = mat.zeros(3, 0):svd { full = true }
    assert.are.equal(mat.eye(3), U)
    assert.are.same({ 0 }, { S:shape() })
    assert.are.same({ 0, 0 }, { Vt:shape() })
  end)
end)

describe("mat.eigh", function()
  it("ascending eigenvalues and orthonormal eigenvectors with A V = V diag(w)", function()
    local w, V = mat.new({ { 2, 1 }, { 1, 2 } }):eigh()
    near({ 1, 3 }, w)
    local w3, V3 = A:eigh()
    near(A * V3, V3 * mat.diag(w3), 1e-13)
    near(mat.eye(3), V3:t() * V3, 1e-13)
    assert.is_true(w3:get(1) <= w3:get(2) and w3:get(2) <= w3:get(3))
    near(A:trace(), w3:sum())
    assert.are.same({ 2, 2 }, { V:shape() })
  end)

  it("requires a symmetric square matrix", function()
    assert.has_error(function() mat.new({ { 1, 2 }, { 3, 1 } }):eigh() end,
      "mat.eigh: bad argument #1 (symmetric matrix expected, got max |A - A^T| = 1)")
    assert.has_error(function() B:eigh() end,
      "mat.eigh: bad argument #1 (square matrix expected, got shape 5x3)")
    -- a tiny asymmetry from rounding is accepted (the symmetric part is used)
    local w = mat.new({ { 2, 1 + 1e-14 }, { 1, 2 } }):eigh()
    near({ 1, 3 }, w, 1e-12)
    local w2 = mat.new({ { 1, 2 }, { 3, 1 } }):eigh { symtol = 10 }
    near({ -1.5, 3.5 }, w2)
  end)
end)

describe("mat.solve and mat.inv", function()
  it("solve A x = b for vector and matrix right-hand sides", function()
    local x = mat.new({ { 2, 1 }, { 1, 3 } }):solve(mat.new { 3, 5 })
    near({ 0.8, 1.4 }, x)
    local Bm = mat.randn(g, 3, 2)
    local X = A:solve(Bm)
    near(Bm, A * X, 1e-13)
    assert.has_error(function() A:solve(mat.ones(4)) end, "mat.solve: shapes 3x3 and 4 do not conform")
    assert.has_error(function() A:solve(mat.new { 1, 0 / 0, 1 }) end,
      "mat.solve: bad argument #2 (finite entries expected, got NaN or Inf)")
  end)

  it("inv gives A^-1 A = I", function()
    near({ { 0.6, -0.2 }, { -0.2, 0.4 } }, mat.new({ { 2, 1 }, { 1, 3 } }):inv())
    near(mat.eye(3), A:inv() * A, 1e-13)
  end)

  it("singular matrices raise a clear error", function()
    assert.has_error(function() mat.new({ { 1, 2 }, { 2, 4 } }):solve(mat.new { 1, 1 }) end,
      "mat.solve: matrix is singular to working precision (rcond = 0)")
    assert.has_error(function() mat.new({ { 1, 2 }, { 2, 4 } }):inv() end,
      "mat.inv: matrix is singular to working precision (rcond = 0)")
    -- singular only to working precision: tiny pivot, caught by the condition estimate
    local ok, err = pcall(mat.inv, mat.new { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } })
    assert.is_false(ok)
    assert.truthy(err:match "^mat.inv: matrix is singular to working precision %(rcond = ")
    assert.has_error(function() mat.new({ { 0 / 0 } }):inv() end,
      "mat.inv: bad argument #1 (finite entries expected, got NaN or Inf)")
  end)
end)

describe("mat.lstsq and mat.pinv", function()
  it("lstsq gives the least-squares solution, its rank and singular values", function()
    -- fit y = a + b t through (0,1), (1,3), (2,4): a = 7/6, b = 3/2
    local T = mat.new { { 1, 0 }, { 1, 1 }, { 1, 2 } }
    local x, r, S = T:lstsq(mat.new { 1, 3, 4 })
    near({ 7 / 6, 1.5 }, x, 1e-13)
    assert.are.equal(2, r)
    near(T:svdvals(), S)
    local X = B:lstsq(mat.randn(g, 5, 2))
    assert.are.same({ 3, 2 }, { X:shape() })
  end)

  it("lstsq returns the minimum-norm solution of underdetermined systems", function()
    local x, r = mat.new({ { 1, 1 } }):lstsq(mat.new { 2 })
    near({ 1, 1 }, x, 1e-13)
    assert.are.equal(1, r)
    local Ar = mat.new { { 1, 2 }, { 2, 4 } } -- rank deficient
    local y, r2 = Ar:lstsq(mat.new { 1, 2 })
    assert.are.equal(1, r2)
    near({ 0.2, 0.4 }, y, 1e-12)
  end)

  it("pinv satisfies the Moore-Penrose identities", function()
    local P = C:pinv()
    assert.are.same({ 5, 3 }, { P:shape() })
    near(C, C * P * C, 1e-12)
    near(P, P * C * P, 1e-12)
    near(C * P, (C * P):t(), 1e-12)
    near({ { 0.04, 0.08 }, { 0.08, 0.16 } }, mat.new({ { 1, 2 }, { 2, 4 } }):pinv(), 1e-12)
    assert.has_error(function() C:pinv { rtol = -1 } end, "mat.pinv: option 'rtol': non-negative number expected")
  end)
end)

describe("mat.rank", function()
  it("counts singular values above rtol * sigma_max and returns them with the cut", function()
    local r, S, tol = mat.new({ { 1, 2 }, { 2, 4 } }):rank()
    assert.are.equal(1, r)
    near({ 5, 0 }, S, 1e-12)
    near(5e-6, tol)
    assert.are.equal(3, A:rank())
    assert.are.equal(3, B:rank())
    local D = mat.diag(mat.new { 1, 1e-3, 1e-8 })
    assert.are.equal(2, D:rank())
    assert.are.equal(1, D:rank { rtol = 1e-2 })
    assert.are.equal(3, D:rank { rtol = 0 })
    assert.are.equal(1, D:rank { atol = 0.5 })
    assert.are.equal(0, mat.zeros(3, 3):rank())
    assert.are.equal(1, mat.new({ 1, 2 }):rank())
    assert.has_error(function() D:rank { tol = 1 } end,
      "mat.rank: unknown option 'tol' (valid options: rtol, atol)")
  end)
end)

describe("mat.qr, mat.chol, mat.det", function()
  it("qr: Q R = A with orthonormal Q and upper-triangular R", function()
    for _, M in ipairs { A, B, C } do
      local Q, R = M:qr()
      near(M, Q * R, 1e-13)
      local k = math.min(M:shape())
      near(mat.eye(k), Q:t() * Q, 1e-13)
      for i = 1, k do
        for j = 1, i - 1 do assert.are.equal(0, R:get(i, j)) end
      end
    end
  end)

  it("chol: lower L with L L^T = A; not positive definite is an error", function()
    local L = mat.new({ { 4, 2 }, { 2, 5 } }):chol()
    near({ { 2, 0 }, { 1, 2 } }, L)
    local L3 = A:chol()
    near(A, L3 * L3:t(), 1e-13)
    assert.are.equal(0, L3:get(1, 3))
    assert.has_error(function() mat.new({ { 1, 2 }, { 2, 1 } }):chol() end,
      "mat.chol: matrix is not positive definite")
    assert.has_error(function() mat.new({ { 1, 2 }, { 0, 1 } }):chol() end,
      "mat.chol: bad argument #1 (symmetric matrix expected, got max |A - A^T| = 2)")
  end)

  it("det through LU", function()
    near(43, A:det())
    near(-2, mat.new({ { 1, 2 }, { 3, 4 } }):det())
    assert.are.equal(0, mat.new({ { 1, 2 }, { 2, 4 } }):det())
    assert.are.equal(1, mat.zeros(0, 0):det())
    near(-1, mat.new({ { 0, 1 }, { 1, 0 } }):det())
    assert.has_error(function() B:det() end, "mat.det: bad argument #1 (square matrix expected, got shape 5x3)")
  end)
end)

-- The certificate-derived tolerance helpers of tests/spec/svm_helpers.lua (docs/testing.md,
-- "Tolerances in tests") accept two certified solves of one problem and reject a result moved
-- by 10x the tolerance: the derived tolerances still let the tests that use them fail.
require "hardmax"
local svm = require "hardmax.svm"
local rng = require "hardmax.rng"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

describe("certificate tolerances (svm_helpers)", function()
  local g = rng.new(23)
  local n, d = 2400, 10
  local X = g:randn(n, d)
  local y = (X * g:randn(d)):sign()
  local r1 = svm.hard_margin(X, y, { working_set = true })
  local r2 = svm.hard_margin(X, y, { method = "activeset" })
  local sc = { N = d, fmax = H.fmax(X) }

  it("the rounding slack counts the nonzero multipliers and the data scale", function()
    assert.are.equal(#r2.support, H.nnz(r2.lambda))
    local e = H.cert_rounding(r2, d, sc.fmax)
    assert.are.equal((d + #r2.support) * 2 ^ -52 * (2 + sc.fmax * r2.objective), e)
    assert.is_true(e < 1e-10) -- small against the certified gaps it is added to
  end)

  it("H.agree: two certified solves pass, an objective moved by 10x the tolerance fails", function()
    local tol = H.agree(r1, r2, sc)
    assert.is_true(tol <= 1e-9 * r2.objective) -- still a sharp test (relative 1e-9)
    local moved = { objective = r1.objective + 10 * tol, lower_bound = r1.lower_bound + 10 * tol,
      lambda = r1.lambda }
    assert.has_error(function() H.agree(moved, r2, sc) end)
  end)

  it("H.within_distance: solutions pass, a solution moved by 10x the bound fails", function()
    local tol = H.within_distance(r1.w, r1, r2.w, r2, sc)
    local w = H.vals(r1.w)
    w[1] = w[1] + 10 * tol
    assert.has_error(function() H.within_distance(w, r1, r2.w, r2, sc) end)
  end)

  it("H.brackets: the closed form is inside, a value 10x the bracket's width away is not", function()
    local r = svm.hard_margin({ { 1, 0 }, { 0, -1 } }, { 1, -1 }) -- A1: w = (1, 1), |w| = sqrt 2
    local sc1 = { N = 2, fmax = 1 }
    H.brackets(r, math.sqrt(2), sc1)
    local width = r.objective - r.lower_bound + 2 * H.cert_rounding(r, 2, 1) * r.objective
    assert.has_error(function() H.brackets(r, math.sqrt(2) + 10 * width, sc1) end)
    assert.has_error(function() H.brackets(r, math.sqrt(2) - 10 * width, sc1) end)
  end)
end)

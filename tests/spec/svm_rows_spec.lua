-- svm.rows: the W-SVM on explicit rank-one rows a_k^T W z_k >= b_k, with equality rows
-- (closed forms of tests/c/test_svm_eq.c through Lua, both norms, a Farkas certificate).
require "hardmax"
local mat = require "hardmax.mat"
local svm = require "hardmax.svm"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

describe("svm.rows", function()
  -- W11 >= 1 (a = z = e1) and W11 - W21 = 0 (a = e1 - e2, z = e1): W = [[1, 0], [1, 0]],
  -- W = 2 e1 e1^T - 1 (e1 - e2) e1^T, so lambda = (2, -1): the equality's multiplier is free
  local A, Z, b = { { 1, 0 }, { 1, -1 } }, { { 1, 0 }, { 1, 0 } }, { 1, 0 }

  it("equality rows: closed form, free multiplier, exact equality", function()
    for _, method in ipairs { "auto", "ipm", "activeset" } do
      local r = svm.rows(A, Z, b, { eq = { false, true }, method = method })
      assert.are.equal("optimal", r.status)
      H.vclose(r.W, { 1, 0, 1, 0 }, 1e-12, "W")
      H.vclose(r.lambda, { 2, -1 }, 1e-9, "lambda")
      H.close(r.objective, math.sqrt(2), 1e-12)
      assert.is_true(r.rel_gap <= 1e-9 and r.eq_residual <= 1e-15)
    end
    -- without the equality the second row is an inequality W11 - W21 >= 0: W = e1 e1^T
    local r = svm.rows(A, Z, b)
    H.vclose(r.W, { 1, 0, 0, 0 }, 1e-12, "W")
    assert.are.equal(0, r.eq_residual)
  end)

  it("nuclear norm with the equality (rank one here: the same W)", function()
    local r = svm.rows(A, Z, b, { eq = { false, true }, norm = "nuc" })
    assert.are.equal("optimal", r.status)
    H.close(r.objective, math.sqrt(2), 1e-6)
    assert.is_true(r.eq_residual <= 1e-9)
  end)

  it("infeasible: W11 >= 1 with W11 = 0, certificate (1, -1)", function()
    local r = svm.rows({ { 1, 0 }, { 1, 0 } }, Z, b, { eq = { false, true } })
    assert.are.equal("infeasible", r.status)
    H.vclose(r.farkas, { 1, -1 }, 1e-12, "farkas")
    assert.is_true(r.farkas_residual <= 1e-12)
  end)

  it("checks its arguments", function()
    assert.has_error(function() svm.rows({ { 1, 0 } }, { { 1, 0, 0 } }, { 1 }) end,
      "svm.rows: bad argument #2 (A and Z must be m x d arrays of one shape, got 1x2 and 1x3)")
    assert.has_error(function() svm.rows(A, Z, { 1 }) end, "svm.rows: bad argument #3 (2 right-hand sides expected, got 1)")
    assert.has_error(function() svm.rows(A, Z, b, { eq = { true, true } }) end,
      "svm.rows: option 'eq': equality row 1 needs right-hand side 0, got 1.0")
    assert.has_error(function() svm.rows(A, Z, b, { eq = { 1, 0 } }) end, "svm.rows: option 'eq': entry 1 is not a boolean")
    assert.has_error(function() svm.rows(A, Z, b, { eq = { false } }) end, "svm.rows: option 'eq': array of 2 booleans expected")
    assert.has_error(function() svm.rows({ { 0 / 0, 0 }, { 1, 0 } }, Z, b) end)
    assert.has_error(function() svm.rows(A, Z, b, { bogus = true }) end)
    assert.has_error(function() svm.rows(A, Z, b, { eq = { false, true }, norm = 3 }) end,
      "svm.rows: equality rows need norm \"fro\" or \"nuc\"")
    -- without equality rows every norm of svm.att works
    assert.are.equal("optimal", svm.rows(A, Z, b, { norm = 3 }).status)
  end)
end)

-- Regularization paths far out (optim.regpath): the KKT-only stopping mode (linf = false) and
-- recovery of the backtracking from a decayed Lipschitz estimate. Found while reproducing
-- theory.md §D.1/§D.2 paths (examples/rp_regularization_paths.lua).
require "hardmax"
local data, model, optim, svm, mat = require "hardmax.data", require "hardmax.model",
  require "hardmax.optim", require "hardmax.svm", require "hardmax.mat"
local rng = require "hardmax.rng"

local function grid(n) local r = {} for k = 0, n do r[#r + 1] = 10 ^ (k / 10) end return r end

describe("optim.regpath far along the path", function()
  it("linf = false stops on the KKT residual only and reaches the SVM direction", function()
    local ds, info = data.example("mm_f1a")
    local pmm = svm.prompt(ds, {1}, {W = info.W}).p
    local m = model.attention{param = "p", W = info.W, v = ds.v}
    local radii = grid(20)                                   -- 1 .. 100
    local r = optim.regpath(m, ds, {radii = radii, linf = false})
    assert.is_true(mat.corr(r.p[#radii], pmm) >= 0.9999)
    assert.is_true(r.kkt[#radii] <= 1e-8)
    assert.is_true(r.converged[#radii])
    -- the same with the true infimum l(1) = log(1 + e^-1) (fixed head, feasible opt)
    local r2 = optim.regpath(m, ds, {radii = radii, linf = math.log(1 + math.exp(-1))})
    assert.is_true(mat.corr(r2.p[#radii], pmm) >= 0.9999)
    -- the default infimum 0 is wrong for a fixed head: the far radii stop at once and the
    -- direction freezes where the gap first fell below tol * L
    local r0 = optim.regpath(m, ds, {radii = radii})
    assert.are.equal(0, r0.iters[#radii])
    assert.is_true(mat.corr(r0.p[#radii], pmm) < 0.995)
  end)

  it("rejects linf = true and infinite linf", function()
    local ds, info = data.example("mm_f1a")
    local m = model.attention{param = "p", W = info.W, v = ds.v}
    assert.has_error(function() optim.regpath(m, ds, {radii = {1}, linf = math.huge}) end)
    assert.has_error(function() optim.regpath(m, ds, {radii = {1}, linf = true}) end)
  end)

  it("tol = 0 (run to iters) survives the next radius after a long solve at an optimum", function()
    -- 3000 accepted steps at a (K,Q) optimum shrink the Lipschitz estimate by 0.9^3000; the
    -- next radius used to fail with 'iteration did not converge' after 200 doublings
    local ds = data.grand(6, 8, 10, {seed = 2})
    local g = rng.new(102)
    model.attention{v = ds.v}:init{rng = g}
    local m = model.attention{param = "KQ", v = ds.v}:init{rng = g}
    local r = optim.regpath(m, ds, {radii = {1, 1.2589254117942, 1.5848931924611}, tol = 0, iters = 3000})
    assert.are.equal(3000, r.iters[3])
    assert.is_true(r.loss[3] < r.loss[1])
  end)
end)

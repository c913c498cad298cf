-- Regularization paths far out (optim.regpath): fixed heads (inf L > 0 not reported) and
-- recovery of the backtracking from a decayed Lipschitz estimate. Found while reproducing
-- theory.md §D.1/§D.2 paths (examples/rp_regularization_paths.lua).
require "hardmax"
local data, model, optim, svm, mat = require "hardmax.data", require "hardmax.model",
  require "hardmax.optim", require "hardmax.svm", require "hardmax.mat"
local rng = require "hardmax.rng"

local function grid(n) local r = {} for k = 0, n do r[#r + 1] = 10 ^ (k / 10) end return r end

describe("optim.regpath far along the path", function()
  it("a fixed head (inf L > 0, unknown to the solver) still reaches the SVM direction", function()
    local ds, info = data.example("mm_f1a")
    local pmm = svm.prompt(ds, {1}, {W = info.W}).p
    local m = model.attention{param = "p", W = info.W, v = ds.v}
    local radii = grid(20)                                   -- 1 .. 100
    local r = optim.regpath(m, ds, {radii = radii})
    assert.is_true(mat.corr(r.p[#radii], pmm) >= 0.999)
    assert.is_true(r.iters[#radii] > 0)
  end)

  it("tol = 0 (run to iters) survives the next radius after a long solve at an optimum", function()
    -- 3000 accepted steps at a (K,Q) optimum shrink the Lipschitz estimate by 0.9^3000; the
    -- next radius used to fail with 'iteration did not converge' after 200 doublings
    local ds = data.grand(6, 8, 10, {seed = 2})
    local g = rng.new(102)
    model.attention{v = ds.v}:init{rng = g}
    local m = model.attention{param = "KQ", v = ds.v}:init{rng = g}
    local r = optim.regpath(m, ds, {radii = {1, 1.2589254117942, 1.5848931924611}, tol = 0, iters = 3000})
    assert.is_true(r.iters[3] >= 1)
    assert.is_true(r.loss[3] < r.loss[1])
  end)
end)

-- hardmax.optim steepest descent: one step against its closed form for every norm (sign,
-- largest coordinate, spectral U V^T, Frobenius = NGD with eps = 0), the unnormalized
-- variant's dual-norm scale, Muon's Newton-Schulz against the exact polar factor, Adam
-- with beta1 = 0, per-tensor application on (K,Q), and bad options.
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"
local mat = require "hardmax.mat"

local eps = 2.220446049250313e-16

local function grand_w(seed)
  local ds = data.grand(6, 8, 10, { seed = seed })
  local m = model.attention { v = ds.v }
  m:init { scheme = "uniform", rng = rng.new(seed + 100) }
  return ds, m
end

-- the step the optimizer took: (W0 - W1) / lr
local function step_dir(opt, m, ds, name)
  name = name or "W"
  local W0 = m[name]:clone()
  local g = m:grad(ds)[name]
  opt:step(m, ds)
  return (W0 - m[name]) / opt.lr, g, W0
end

local function maxabs(A) return A:abs():max() end

describe("steepest descent directions", function()
  it("sign descent: theta -= lr sign(g) entrywise", function()
    local ds, m = grand_w(1)
    local D, g = step_dir(optim.sign { lr = 0.25 }, m, ds)
    local d, c = D:shape()
    for i = 1, d do
      for j = 1, c do
        local gij = g:get(i, j)
        local s = gij > 0 and 1 or gij < 0 and -1 or 0
        -- (W0 - (W0 - lr s)) / lr rounds: |err| <= 2 ulp(|W0| + lr) / lr
        assert.is_true(math.abs(D:get(i, j) - s) <= 8 * eps * (1 + maxabs(m.W) / 0.25))
      end
    end
  end)

  it("largest-coordinate descent moves only argmax |g| by lr, ties split evenly", function()
    local ds, m = grand_w(2)
    local D, g = step_dir(optim.coord { lr = 0.5 }, m, ds)
    local i, j = g:abs():argmax()
    local tol = 8 * eps * (1 + maxabs(m.W) / 0.5)
    assert.is_true(math.abs(math.abs(D:get(i, j)) - 1) <= tol)
    assert.are.equal(g:get(i, j) > 0, D:get(i, j) > 0)
    D:set(i, j, 0)
    assert.is_true(maxabs(D) <= tol)
    assert.are.equal("l1", optim.coord { lr = 1 }.norm) -- ties: tests/c/test_steepest.c
  end)

  it("spectral descent: D = U V^T, <g, D> = nuclear norm, unit spectral norm", function()
    local ds, m = grand_w(3)
    local D, g = step_dir(optim.spectral { lr = 0.1 }, m, ds)
    local U, S, Vt = g:svd()
    local k = 0
    for r = 1, S:size() do if S:get(r) > S:get(1) * 10 * eps then k = r end end
    local P = U:slice(2, 1, k) * Vt:slice(1, 1, k)
    local scale = 1 + maxabs(m.W) / 0.1
    assert.is_true(maxabs(D - P) <= 1e-12 * scale, "U V^T")
    assert.is_true(math.abs(mat.dot(g, D) - g:norm "nuc") <= 1e-12 * g:norm "nuc")
    assert.is_true(math.abs(D:norm(2) - 1) <= 1e-12 * scale)
  end)

  it("Frobenius steepest descent is NGD with eps = 0 (bit for bit)", function()
    local ds, m1 = grand_w(4)
    local m2 = m1:clone()
    for _ = 1, 5 do
      optim.steepest { norm = "fro", lr = 0.3 }:step(m1, ds)
      optim.ngd { lr = 0.3, eps = 0 }:step(m2, ds)
    end
    assert.is_true(m1.W == m2.W)
  end)

  it("normalized = false scales the direction by the dual norm (Frobenius: GD)", function()
    local ds, m1 = grand_w(5)
    local m2 = m1:clone()
    local D, g = step_dir(optim.sign { lr = 0.01, normalized = false }, m1, ds)
    local s = g:norm(1)
    assert.is_true(maxabs(D - g:sign() * s) <= 1e-12 * s * (1 + maxabs(m1.W) / 0.01 / s))
    local m3 = m2:clone()
    optim.steepest { norm = 2, lr = 0.2, normalized = false }:step(m2, ds)
    optim.gd { lr = 0.2 }:step(m3, ds)
    assert.is_true(maxabs(m2.W - m3.W) <= 4 * eps * (1 + maxabs(m3.W)))
    local m4 = m3:clone()
    local D4, g4 = step_dir(optim.spectral { lr = 0.01, normalized = false }, m4, ds)
    assert.is_true(math.abs(mat.dot(D4, g4) - g4:norm "nuc" ^ 2) <= 1e-10 * g4:norm "nuc" ^ 2)
  end)

  it("Newton-Schulz (Muon's quintic) approximates U V^T: singular values in [0.6, 1.25]", function()
    local ds, m = grand_w(6)
    local D, g = step_dir(optim.spectral { lr = 0.1, ns_steps = 5 }, m, ds)
    local U, S, Vt = g:svd()
    local sv = D:svdvals()
    -- the quintic's fixed band after 5 steps for sigma_min/sigma_max >= ~1e-3 of G/|G|_F
    for r = 1, sv:size() do
      if S:get(r) > 1e-3 * S:get(1) then
        assert.is_true(sv:get(r) > 0.6 and sv:get(r) < 1.25, tostring(sv:get(r)))
      end
    end
    -- same singular vectors: U^T D V is diagonal up to the iteration's rounding
    local C = U:t() * D * Vt:t()
    local off = C - mat.diag(C:diag())
    assert.is_true(maxabs(off) <= 1e-10 * (1 + maxabs(m.W) / 0.1))
  end)

  it("muon: momentum buffer then Newton-Schulz; beta = 0 equals spectral{ns_steps}", function()
    local ds, m1 = grand_w(7)
    local m2 = m1:clone()
    local a, b = optim.muon { lr = 0.05, beta = 0 }, optim.spectral { lr = 0.05, ns_steps = 5 }
    for _ = 1, 3 do a:step(m1, ds); b:step(m2, ds) end
    assert.is_true(m1.W == m2.W)
    local mu = optim.muon { lr = 0.05 }
    assert.are.same({ "muon", 0.95, true, 5 }, { mu.kind, mu.beta, mu.nesterov, mu.ns_steps })
    local m3 = m1:clone()
    for _ = 1, 3 do mu:step(m3, ds) end
    assert.are.equal(3, mu.t)
    assert.is_false(m3.W == m1.W)
  end)

  it("acts on each tensor separately: K and Q get their own U V^T", function()
    local ds = data.grand(6, 8, 10, { seed = 8 })
    local m = model.attention { v = ds.v, param = "KQ", m = 4 }
    m:init { scheme = "uniform", rng = rng.new(9) }
    local K0, Q0 = m.K:clone(), m.Q:clone()
    local g = m:grad(ds)
    optim.spectral { lr = 1 }:step(m, ds)
    for name, X0 in pairs { K = K0, Q = Q0 } do
      local D = X0 - m[name]
      assert.is_true(math.abs(mat.dot(g[name], D) - g[name]:norm "nuc") <= 1e-12 * g[name]:norm "nuc" * 10)
      assert.is_true(math.abs(D:norm(2) - 1) <= 1e-12 * 10)
    end
  end)

  it("rescaled = true keeps the normalized step (scale invariant) where nothing underflows", function()
    local ds, m1 = grand_w(10)
    local m2 = m1:clone()
    optim.sign { lr = 0.1 }:step(m1, ds)
    optim.sign { lr = 0.1, rescaled = true }:step(m2, ds)
    -- sign(g) = sign(e^{-s} g) exactly unless an entry underflows
    assert.is_true(m1.W == m2.W)
  end)

  it("Adam without momentum (beta1 = 0): theta -= lr g / (sqrt(v_hat) + eps)", function()
    local ds, m = grand_w(11)
    local W0 = m.W:clone()
    local g = m:grad(ds).W
    optim.adam { lr = 0.01, beta1 = 0, beta2 = 0.999, eps = 1e-8 }:step(m, ds)
    -- first step: v_hat = g^2, so the step is g / (|g| + eps)
    local want = W0 - (g:div(g:abs() + 1e-8)) * 0.01
    assert.is_true(maxabs(m.W - want) <= 8 * eps * (1 + maxabs(W0)))
  end)

  it("settings, trains in optim.train, and rejects bad options", function()
    local o = optim.steepest { norm = math.huge, lr = 0.1 }
    assert.are.same({ "steepest", "inf", true, 0, false }, { o.kind, o.norm, o.normalized, o.ns_steps, o.rescaled })
    assert.are.equal("spec", optim.spectral { lr = 1, ns_steps = 3 }.norm)
    assert.are.equal(3, optim.spectral { lr = 1, ns_steps = 3 }.ns_steps)
    assert.are.equal("l1", optim.steepest { norm = 1, lr = 1 }.norm)
    local ds, m = grand_w(12)
    local r = optim.train(m, ds, optim.spectral { lr = 0.1 }, { iters = 20, record = { "loss" } })
    assert.are.equal("ok", r.status)
    assert.are.equal("steepest", r.optimizer.kind)
    assert.is_true(r.loss[21] < r.loss[1])
    assert.has_error(function() optim.steepest { lr = 1 } end,
      "optim.steepest: option 'norm' is required (\"inf\", \"l1\", \"fro\" or \"spec\")")
    assert.has_error(function() optim.steepest { lr = 1, norm = 3 } end,
      "optim.steepest: option 'norm': \"inf\" (or math.huge), \"l1\" (or 1), \"fro\" (or 2) or \"spec\" expected, got 3.0")
    assert.has_error(function() optim.steepest { lr = 1, norm = "inf", ns_steps = 2 } end,
      "optim.steepest: option 'ns_steps' applies to the spectral norm only (norm = \"spec\")")
    assert.has_error(function() optim.spectral { lr = 1, ns_steps = 1.5 } end,
      "optim.spectral: option 'ns_steps': integer in [0, 100] expected, got 1.5")
    assert.has_error(function() optim.sign { lr = -1 } end,
      "optim.sign: option 'lr': finite number >= 0 expected, got -1.0")
    assert.has_error(function() optim.sign { lr = 1, norm = "inf" } end,
      "optim.sign: unknown option 'norm' (valid options: lr, normalized, rescaled)")
    assert.has_error(function() optim.coord { lr = 1, normalized = false, rescaled = true } end,
      "optim.coord: option 'rescaled' only applies with normalized = true (the unnormalized step needs the gradient's magnitude)")
    assert.has_error(function() optim.muon { lr = 1, beta = 1 } end,
      "optim.muon: option 'beta': number in [0, 1) expected, got 1.0")
    assert.has_error(function() optim.muon { lr = 1, ns_steps = 0 } end,
      "optim.muon: option 'ns_steps': integer in [1, 100] expected, got 0.0")
    assert.has_error(function() optim.spectral() end,
      "optim.spectral: bad argument #1 (options table expected, got no value)")
  end)
end)

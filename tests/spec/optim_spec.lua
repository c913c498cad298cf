-- hardmax.optim: optimizers against hand computation, lp-MD(p=2) == GD/NGD bit for bit,
-- the training loop's recorders against direct computation, statuses, regularization
-- paths, metric helpers, bad input, and the saturated-regime NGD test of issue 3.
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"
local mat = require "hardmax.mat"
local loss = require "hardmax.loss"

local function tt(a) return a:totable() end
local function flat(a)
  local t, out = tt(a), {}
  local function rec(x)
    if type(x) == "table" then for _, y in ipairs(x) do rec(y) end else out[#out + 1] = x end
  end
  rec(t)
  return out
end
local function norm(v) local s = 0 for _, x in ipairs(v) do s = s + x * x end return math.sqrt(s) end
local function dot(a, b) local s = 0 for i = 1, #a do s = s + a[i] * b[i] end return s end
local function corr(a, b) return dot(a, b) / (norm(a) * norm(b)) end
local function close(a, b, tol)
  tol = tol or 1e-14
  assert.is_true(math.abs(a - b) <= tol * (1 + math.abs(b)), string.format("%.17g vs %.17g", a, b))
end
local wmat = mat.new

local function grand_w(seed, opts)
  local ds = data.grand(6, 8, 10, { seed = seed })
  local m = model.attention { v = ds.v }
  if opts ~= "zero" then m:init { scheme = "uniform", rng = rng.new(seed + 100) } end
  return ds, m
end

describe("optimizer objects", function()
  it("construct, expose settings, reject unknown or bad options", function()
    local o = optim.ngd { lr = 0.1, eps = 2.22e-16 }
    assert.are.equal("ngd", o.kind)
    assert.are.equal(0.1, o.lr)
    assert.are.equal(2.22e-16, o.eps)
    assert.are.equal(0, o.t)
    local pe = optim.ngd { lr = 0.1, eps = { p = 1e-19, v = 1e-9 } }
    assert.are.same({ p = 1e-19, v = 1e-9 }, pe.eps)
    local a = optim.adam {}
    assert.are.same({ 1e-3, 0.9, 0.999, 1e-8 }, { a.lr, a.beta1, a.beta2, a.eps })
    local mo = optim.momentum { lr = 0.5, beta = 0.8, nesterov = true }
    assert.are.same({ 0.5, 0.8, true }, { mo.lr, mo.beta, mo.nesterov })
    local md = optim.mirror { p = 3, lr = 0.1, normalized = true, eps = 1e-9 }
    assert.are.same({ 3, 1.5, true, 1e-9 }, { md.p, md.q, md.normalized, md.eps })
    local ps = optim.polyak { lstar = 0.25, c = 0.5, lr_max = 1e4 }
    assert.are.same({ 0.25, 0.5, 1e4 }, { ps.lstar, ps.c, ps.lr_max })
    assert.are.equal("gd", optim.gd { lr = 1 }:settings().kind)
    assert.has_error(function() optim.gd() end, "optim.gd: bad argument #1 (options table expected, got no value)")
    assert.has_error(function() optim.ngd(0.1) end, "optim.ngd: bad argument #1 (options table expected, got number)")
    assert.has_error(function() optim.gd { lr = 1, lrr = 2 } end,
      "optim.gd: unknown option 'lrr' (valid options: lr)")
    assert.has_error(function() optim.ngd { lr = 0.1 } end,
      "optim.ngd: option 'eps' is required (the normalization epsilon of theory.md A.5, e.g. 2.22e-16; a number or a table {name = eps, ...})")
    assert.has_error(function() optim.mirror { p = 1, lr = 0.1 } end,
      "optim.mirror: option 'p': number > 1 expected (lp mirror descent needs p > 1), got 1.0")
    assert.has_error(function() optim.mirror { p = 0.5, lr = 0.1 } end)
    assert.has_error(function() optim.mirror { p = 2, lr = 0.1, eps = 1e-9 } end,
      "optim.mirror: option 'eps' only applies with normalized = true")
    assert.has_error(function() optim.gd {} end, "optim.gd: option 'lr' is required")
    assert.has_error(function() optim.gd { lr = -1 } end)
    assert.has_error(function() optim.momentum { lr = 1, beta = 1 } end,
      "optim.momentum: option 'beta': number in [0, 1) expected, got 1.0")
    assert.has_error(function() optim.adam { beta2 = 1.5 } end)
    assert.has_error(function() optim.polyak { c = 0 } end,
      "optim.polyak: options: c > 0, lr_max > 0 and a finite lstar expected (got c = 0.0, lr_max = inf, lstar = nan)")
    assert.has_error(function() optim.polyak { lstar = math.huge } end,
      "optim.polyak: options: c > 0, lr_max > 0 and a finite lstar expected (got c = 1.0, lr_max = inf, lstar = inf)")
    assert.has_error(function() o.lr = 3 end)
  end)

  it("GD and NGD steps match hand computation (per-tensor normalization)", function()
    local ds, m = grand_w(1)
    local W0, g = flat(m.W), nil
    local gm, L0 = m:grad(ds)
    g = flat(gm.W)
    local gd = optim.gd { lr = 0.7 }
    assert.are.equal(L0, gd:step(m, ds))
    local W1 = flat(m.W)
    for j = 1, #W0 do assert.are.equal(W0[j] - 0.7 * g[j], W1[j]) end
    assert.are.equal(1, gd.t)
    -- NGD on (K,Q): K and Q normalized separately
    local mk = model.attention { param = "KQ", v = ds.v }
    mk:init { scheme = "uniform", rng = rng.new(3) }
    local K0, Q0 = flat(mk.K), flat(mk.Q)
    local gk = mk:grad(ds)
    local gK, gQ = flat(gk.K), flat(gk.Q)
    local ngd = optim.ngd { lr = 0.1, eps = { K = 1e-3, Q = 0.5 } }
    ngd:step(mk, ds)
    local K1, Q1 = flat(mk.K), flat(mk.Q)
    local nK, nQ = norm(gK), norm(gQ)
    for j = 1, #K0 do
      close(K1[j], K0[j] - 0.1 * gK[j] / (nK + 1e-3))
      close(Q1[j], Q0[j] - 0.1 * gQ[j] / (nQ + 0.5))
    end
    -- a per-parameter eps table must cover every trained tensor
    assert.has_error(function() optim.ngd { lr = 0.1, eps = { K = 1 } }:step(mk, ds) end,
      "opt:step: no eps given for trained parameter 'Q' (eps table lists 1 entries)")
  end)

  it("momentum, Nesterov and Adam: first two steps by hand", function()
    for _, kind in ipairs { "momentum", "nesterov", "adam" } do
      local ds, m = grand_w(2)
      local ref = model.attention { v = ds.v, W = tt(m.W) }
      local o = kind == "adam" and optim.adam { lr = 0.01, beta1 = 0.9, beta2 = 0.99, eps = 1e-8 }
        or optim.momentum { lr = 0.1, beta = 0.8, nesterov = kind == "nesterov" }
      local x, st1, st2 = flat(ref.W), {}, {}
      for j = 1, #x do st1[j], st2[j] = 0, 0 end
      for step = 1, 2 do
        local g = flat(ref:grad(ds).W)
        for j = 1, #x do
          if kind == "adam" then
            st1[j] = 0.9 * st1[j] + 0.1 * g[j]
            st2[j] = 0.99 * st2[j] + 0.01 * g[j] * g[j]
            local mh, vh = st1[j] / (1 - 0.9 ^ step), st2[j] / (1 - 0.99 ^ step)
            x[j] = x[j] - 0.01 * mh / (math.sqrt(vh) + 1e-8)
          else
            st1[j] = 0.8 * st1[j] + g[j]
            x[j] = x[j] - 0.1 * (kind == "nesterov" and g[j] + 0.8 * st1[j] or st1[j])
          end
        end
        ref.W = mat.new(x, 10, 10)
        o:step(m, ds)
        local got = flat(m.W)
        for j = 1, #x do close(got[j], x[j], 1e-13) end
      end
      o:reset()
      assert.are.equal(0, o.t)
    end
  end)

  it("Polyak step: eta = c (L - L*)/|g|^2, capped; L* from the model or required", function()
    local ds, m = grand_w(4)
    local gm, L = m:grad(ds)
    local g = flat(gm.W)
    local W0 = flat(m.W)
    local o = optim.polyak { lstar = 0.3, c = 0.5 }
    o:step(m, ds)
    local eta = 0.5 * (L - 0.3) / dot(g, g)
    close(o.last_lr, eta)
    local W1 = flat(m.W)
    for j = 1, #W0 do close(W1[j], W0[j] - eta * g[j]) end
    local capped = optim.polyak { lstar = 0, lr_max = 1e-3 }
    capped:step(m, ds)
    assert.are.equal(1e-3, capped.last_lr)
    -- a fixed linear head knows its infimum: L* = (1/n) sum_i l(max_t gamma_it)
    local gam, lstar = ds:scores(), 0
    for i = 1, ds.n do
      local b = -math.huge
      for t = 1, ds.T do b = math.max(b, gam:get(i, t)) end
      lstar = lstar + math.log(1 + math.exp(-b)) / ds.n
    end
    local gm2, L2 = m:grad(ds)
    local g2 = flat(gm2.W)
    local auto = optim.polyak {}
    auto:step(m, ds)
    close(auto.last_lr, (L2 - lstar) / dot(g2, g2))
    -- a trained head has no closed-form infimum: L* must be given
    local joint = model.attention { param = "W", v = ds.v, train = { "W", "v" } }
    assert.has_error(function() optim.polyak {}:step(joint, ds) end,
      "opt:step: the Polyak step needs L_*: give lstar = ... (the model does not know its loss infimum)")
  end)
end)

describe("lp mirror descent", function()
  it("p = 2 equals GD (plain) and NGD (normalized) step for step, bit for bit", function()
    for _, param in ipairs { "W", "KQ" } do
      for _, normalized in ipairs { false, true } do
        local ds = data.grand(6, 8, 10, { seed = 5 })
        local a = model.attention { param = param, v = ds.v }
        a:init { scheme = "uniform", rng = rng.new(9) }
        local b = a:clone()
        local o1 = normalized and optim.ngd { lr = 0.1, eps = 2.22e-16 } or optim.gd { lr = 1 }
        local o2 = optim.mirror { p = 2, lr = normalized and 0.1 or 1, normalized = normalized,
                                  eps = normalized and 2.22e-16 or nil }
        for _ = 1, 100 do assert.are.equal(o1:step(a, ds), o2:step(b, ds)) end
        assert.are.same(tt(a:effective_w()), tt(b:effective_w()))
      end
    end
  end)

  -- Rounding bound of one p = 3 mirror step x = sgn(u) sqrt|u|, u = a|a| - s (s = sc g_j),
  -- between two formulas of it (see below); N = number of terms in the step size's sum.
  local function mirror3_bound(a, s, N, want)
    local eps = 2 ^ -52
    local u = (a >= 0 and 1 or -1) * a * a - s
    local du = 2 * eps * a * a + (2 + N) * eps * math.abs(s)
    local au = math.abs(u)
    -- |sqrt s - sqrt t| <= |s - t| / sqrt(max(s, t)); near 0 (a sign may flip) 2.5 sqrt(du)
    return (au >= du and du / math.sqrt(au) or 2.5 * math.sqrt(du)) + 2 * eps * math.abs(want)
  end

  -- Per entry, from the same x0 and g: u = a|a| - sc g carries <= 2 eps (a^2 + |sc g|) in
  -- either formula (a|a| vs pow(|a|, 2), one product; sc from a sum of N = #g terms and a
  -- pow in another order: N eps relative), and sqrt(|u|) turns an absolute error du into
  -- <= du / sqrt|u| (<= 2.5 sqrt(du) when |u| < du), plus 2 eps |x| for sqrt vs pow(., 0.5).
  -- The bound is checked entry by entry, so it holds however close u comes to 0 on other
  -- data (was: 1e-15 of max|x|, a property of this data).
  it("p = 3 fast path (a|a|, sqrt, r sqrt(r)) agrees with the general pow() formula within the derived rounding", function()
    local sgn = function(x) return x >= 0 and 1 or -1 end
    for _, param in ipairs { "W", "KQ" } do
      for _, normalized in ipairs { false, true } do
        local ds = data.grand(6, 8, 10, { seed = 7 })
        local m = model.attention { param = param, v = ds.v }
        m:init { scheme = "normal", std = 1, rng = rng.new(3) }
        local lr = normalized and 0.1 or 2
        local o = optim.mirror { p = 3, lr = lr, normalized = normalized, eps = normalized and 2.22e-16 or nil }
        local names = param == "W" and { "W" } or { "K", "Q" }
        local worst = 0
        for _ = 1, 60 do
          local x0, g = {}, {}
          local gr = m:grad(ds)
          for _, nm in ipairs(names) do x0[nm], g[nm] = flat(m[nm]), flat(gr[nm]) end
          o:step(m, ds)
          for _, nm in ipairs(names) do
            local gx, sc = g[nm], lr
            if normalized then -- hm_normp(g, 3/2): scaled by max|g|, pow per entry
              local amax, s = 0, 0
              for _, v in ipairs(gx) do amax = math.max(amax, math.abs(v)) end
              for _, v in ipairs(gx) do s = s + (math.abs(v) / amax) ^ 1.5 end
              sc = lr / (amax * s ^ (1 / 1.5) + 2.22e-16)
            end
            local x1, N = flat(m[nm]), #gx
            for j, a in ipairs(x0[nm]) do
              local u = sgn(a) * math.abs(a) ^ 2 - sc * gx[j]
              local want = sgn(u) * math.abs(u) ^ 0.5
              local bound = mirror3_bound(a, sc * gx[j], N, want)
              worst = math.max(worst, math.abs(x1[j] - want) / bound)
            end
          end
        end
        assert.is_true(worst <= 1, string.format("%s normalized=%s: error / bound %.3f", param, tostring(normalized), worst))
      end
    end
  end)

  it("p = 3: the mirror map step by hand (dual q-norm normalization)", function()
    local ds, m = grand_w(6)
    local W0, g = flat(m.W), flat(m:grad(ds).W)
    local qn = 0
    for _, x in ipairs(g) do qn = qn + math.abs(x) ^ 1.5 end
    qn = qn ^ (1 / 1.5)
    optim.mirror { p = 3, lr = 0.05, normalized = true, eps = 1e-9 }:step(m, ds)
    local W1 = flat(m.W)
    for j = 1, #W0 do
      local sgn = function(x) return x >= 0 and 1 or -1 end
      local u = sgn(W0[j]) * W0[j] ^ 2 - 0.05 * g[j] / (qn + 1e-9)
      local want = sgn(u) * math.sqrt(math.abs(u))
      local b = mirror3_bound(W0[j], 0.05 * g[j] / (qn + 1e-9), #g, want)
      assert.is_true(math.abs(W1[j] - want) <= b, string.format("entry %d: %.17g vs %.17g", j, W1[j], want))
    end
  end)
end)

describe("optim.train", function()
  it("NGD norm bound |W_k| <= |W_0| + eta k", function()
    local ds, m = grand_w(7)
    local n0 = norm(flat(m.W))
    local r = optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 },
      { iters = 300, every = 1, record = { "param_norm_W" } })
    for k, v in ipairs(tt(r.param_norm_W)) do assert.is_true(v <= n0 + 0.1 * (k - 1) + 1e-12) end
  end)

  it("recorders agree with direct computation on a replay", function()
    local ds, m = grand_w(8)
    local replay = m:clone()
    local target = wmat((function() local t = {} for r = 1, 10 do t[r] = {} for c = 1, 10 do t[r][c] = math.sin(r + 2 * c) end end return t end)())
    local alpha = { 1, 2, 3, 4, 5, 6 }
    local r = optim.train(m, ds, optim.gd { lr = 2 }, {
      iters = 10, every = 4,
      record = { "loss", "grad_norm", "param_norm", "W", "softmax_max", "softmax_at", "corr", "bregman", "min_logit_gap", "lr" },
      targets = { W = target }, indices = alpha, bregman_p = 1.5 })
    assert.are.equal("ok", r.status)
    assert.are.equal(10, r.iters)
    assert.are.same({ 0, 4, 8, 10 }, tt(r.steps))
    assert.are.equal("gd", r.optimizer.kind)
    local o2, row = optim.gd { lr = 2 }, 0
    local tf = flat(target)
    for k = 0, 10 do
      if k % 4 == 0 or k == 10 then
        row = row + 1
        local g, L = replay:grad(ds)
        assert.are.equal(L, tt(r.loss)[row])
        close(tt(r.grad_norm)[row], norm(flat(g.W)))
        local W = flat(replay.W)
        close(tt(r.param_norm)[row], norm(W))
        assert.are.same(tt(replay.W), tt(r.W)[row])
        local P = tt(replay:probs(ds))
        local smax, sat = 0, 0
        for i = 1, 6 do smax = smax + math.max(table.unpack(P[i])); sat = sat + P[i][alpha[i]] end
        close(tt(r.softmax_max)[row], smax / 6)
        close(tt(r.softmax_at)[row], sat / 6)
        close(tt(r.corr)[row], corr(W, tf))
        close(tt(r.bregman)[row], optim.bregman(target, replay.W, 1.5))
        close(tt(r.min_logit_gap)[row], replay:diagnostics(ds).min_logit_gap)
        if k < 10 then assert.are.equal(2, tt(r.lr)[row]) else assert.is_true(tt(r.lr)[row] ~= tt(r.lr)[row]) end
      end
      if k < 10 then o2:step(replay, ds) end
    end
    assert.are.same(tt(replay.W), tt(m.W))
  end)

  it("(K,Q) records the effective W and corr/cos of named parameters", function()
    local ds = data.grand(6, 8, 10, { seed = 3 })
    local m = model.attention { param = "KQ", v = ds.v }
    m:init { scheme = "uniform", rng = rng.new(1) }
    local Kt = m.K
    local r = optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 },
      { iters = 5, every = 5, record = { "W", "K", "cos_K", "grad_norm_Q" }, targets = { K = Kt } })
    assert.are.same({ 2, 10, 10 }, { r.W:shape() })
    close(tt(r.cos_K)[1], 1, 1e-15)
    assert.are.same(tt(m:effective_w()), tt(r.W)[2])
    assert.are.same(tt(m.K), tt(r.K)[2])
  end)

  it("vector parameters: snapshots, cos_p, per-parameter norms and eps (joint p, v)", function()
    local ds, info = data.example("mm_f1a")
    local m = model.attention { param = "p", W = info.W, v = ds.v, train = { "p", "v" } }
    m.p = { 0, 1, 0 }
    local pt = mat.new { -10 / 101, 100 / 101, 0 }
    local o = optim.ngd { lr = 0.1, eps = { p = 1e-19, v = 1e-9 } }
    local r = optim.train(m, ds, o, { iters = 50, every = 25,
      record = { "p", "v", "cos_p", "param_norm_p", "grad_norm_v" }, targets = { p = pt } })
    assert.are.equal("ok", r.status)
    assert.are.same({ 3, 3 }, { r.p:shape() })
    local P = tt(r.p)
    assert.are.same(tt(m.p), P[3])
    for k = 1, 3 do
      close(tt(r.cos_p)[k], corr(P[k], tt(pt)))
      close(tt(r.param_norm_p)[k], norm(P[k]))
    end
    -- each NGD step moves p by at most lr
    local d = {}
    for j = 1, 3 do d[j] = P[2][j] - P[1][j] end
    assert.is_true(norm(d) <= 25 * 0.1 + 1e-12)
    assert.are.same({ p = 1e-19, v = 1e-9 }, r.optimizer.eps)
    -- a zero vector has no direction: cos is NaN, not an error
    m.p = { 0, 0, 0 }
    r = optim.train(m, ds, optim.gd { lr = 0 }, { iters = 0, record = { "cos_p" }, targets = { p = pt } })
    local c0 = tt(r.cos_p)[1]
    assert.is_true(c0 ~= c0)
  end)

  it("reports divergence with the step, underflow, callback stops and errors", function()
    local ds = data.grand(6, 8, 10, { seed = 2 })
    -- exponential loss with a trained head: a huge step overflows exp(-Y f)
    local m = model.attention { v = ds.v, loss = "exponential", train = { "W", "v" } }
    m:init { scheme = "uniform", rng = rng.new(2) }
    local r = optim.train(m, ds, optim.gd { lr = 1e200 }, { iters = 50, record = { "loss" } })
    local k = tonumber(r.status:match("^diverged at step (%d+): "))
    assert.is_truthy(k, r.status)
    assert.are.equal(k, #tt(r.loss))
    -- (K, Q) = 0 is a critical point: exactly zero gradient
    local mk = model.attention { param = "KQ", v = ds.v }
    r = optim.train(mk, ds, optim.ngd { lr = 0.1, eps = 1e-9 }, { iters = 5 })
    assert.are.equal("gradient underflow at step 0: the gradient is exactly zero", r.status)
    -- callback every 3 steps; false stops
    local seen = {}
    local _, mw = grand_w(3)
    r = optim.train(mw, ds, optim.gd { lr = 1 }, { iters = 20, every = 3, record = { "loss" },
      callback = function(kk, mm) seen[#seen + 1] = kk; assert.are.equal(mw, mm); return kk < 6 end })
    assert.are.same({ 0, 3, 6 }, seen)
    assert.are.equal("stopped by callback at step 6", r.status)
    assert.are.equal(6, r.iters)
    assert.has_error(function()
      optim.train(mw, ds, optim.gd { lr = 1 }, { iters = 3, callback = function() error("boom", 0) end })
    end, "boom")
    r = optim.train(mw, ds, optim.gd { lr = 1 }, { iters = 1000, stop = { grad_norm = 1e-2 } })
    assert.is_truthy(r.status:match("^stopped at step %d+: grad_norm <= 0.01"))
  end)

  it("rejects bad options", function()
    local ds, m = grand_w(1)
    local o = optim.gd { lr = 1 }
    assert.has_error(function() optim.train(m, ds, o, { iters = 1, evry = 2 }) end)
    assert.has_error(function() optim.train(m, ds, o, { every = 2 }) end, "optim.train: option 'iters': integer >= 0 required")
    assert.has_error(function() optim.train(m, ds, o, { iters = 1, record = { "nope" } }) end)
    assert.has_error(function() optim.train(m, ds, o, { iters = 1, record = { "corr" } }) end,
      "optim.train: recording 'W' needs targets = {W = ...}")
    assert.has_error(function() optim.train(m, ds, o, { iters = 1, record = { "softmax_at" }, indices = { 1, 2 } }) end,
      "optim.train: option 'indices': 6 entries expected (one per sample), got 2")
    assert.has_error(function() optim.train(m, ds, o, { iters = 1, record = { "softmax_at" }, indices = { 1, 2, 3, 4, 5, 9 } }) end,
      "optim.train: option 'indices': entry 6: integer in [1, 8] expected")
    assert.has_error(function() optim.train(m, ds, "gd", { iters = 1 }) end)
  end)
end)

-- Frobenius Att-SVM by dual coordinate descent (test-side; the svm module lands separately)
local function svm_fro(ds, alpha)
  local X, Z = tt(ds.X), tt(ds.Z)
  local n, T, d = #X, #X[1], #X[1][1]
  local D, Zr = {}, {}
  for i = 1, n do
    for t = 1, T do
      if t ~= alpha[i] then
        local del = {}
        for j = 1, d do del[j] = X[i][alpha[i]][j] - X[i][t][j] end
        D[#D + 1], Zr[#Zr + 1] = del, Z[i]
      end
    end
  end
  local m = #D
  local K = {}
  for a = 1, m do K[a] = {} for b = 1, m do K[a][b] = dot(D[a], D[b]) * dot(Zr[a], Zr[b]) end end
  local lam, Kl = {}, {}
  for a = 1, m do lam[a], Kl[a] = 0, 0 end
  for _ = 1, 3000 do
    for a = 1, m do
      local nl = math.max(0, lam[a] + (1 - Kl[a]) / K[a][a])
      local dl = nl - lam[a]
      if dl ~= 0 then
        local Ka = K[a]
        for b = 1, m do Kl[b] = Kl[b] + dl * Ka[b] end
        lam[a] = nl
      end
    end
  end
  local W = {}
  for j = 1, d * d do W[j] = 0 end
  local viol = 0
  for a = 1, m do
    local s = 0
    for b = 1, m do s = s + K[a][b] * lam[b] end
    viol = math.max(viol, 1 - s, lam[a] > 1e-12 and math.abs(s - 1) or 0)
    for j = 1, d do for k = 1, d do W[(j - 1) * d + k] = W[(j - 1) * d + k] + lam[a] * D[a][j] * Zr[a][k] end end
  end
  return W, viol
end

describe("saturated regime (issue 3)", function()
  it("NGD eta = 0.1, eps = 2.22e-16 on G-rand(6,8,10): 1 - corr(W_k, W^mm) keeps decreasing from k = 2000 to 10000", function()
    local ds = data.grand(6, 8, 10, { seed = 0 })
    local m = model.attention { v = ds.v }
    local r = optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 },
      { iters = 10000, every = 2000, record = { "W", "min_logit_gap" } })
    assert.are.equal("ok", r.status)
    assert.is_true(tt(r.min_logit_gap)[6] > 36.7) -- beyond float64 saturation of 1 - s_alpha
    local alpha = {}
    for i, row in ipairs(tt(m:probs(ds))) do
      local b = 1
      for t = 2, #row do if row[t] > row[b] then b = t end end
      alpha[i] = b
    end
    local Wmm, viol = svm_fro(ds, alpha)
    assert.is_true(viol < 1e-8)
    local Ws, prev = tt(r.W), math.huge
    for k = 2, 6 do
      local w = {}
      for a = 1, 10 do for b = 1, 10 do w[#w + 1] = Ws[k][a][b] end end
      local e = 1 - corr(w, Wmm)
      assert.is_true(e < prev, string.format("k = %d: 1 - corr = %.3e, previous %.3e", (k - 1) * 2000, e, prev))
      prev = e
    end
    assert.is_true(prev < 1e-2)
  end)
end)

describe("rescaled directions (theory.md D.5): NGD / normalized MD beyond the underflow of the gradient", function()
  local svm = require "hardmax.svm"
  local function onecorr(W, Wmm) return 1 - optim.corr(W, Wmm) end

  it("G-rand(6,8,10) seed 1, NGD eta = 0.1, eps = 0, W_0 = 0: exact stops at gap ~741, rescaled keeps aligning past gap 800", function()
    local ds = data.grand(6, 8, 10, { seed = 1 })
    local rec = { "W", "min_logit_gap", "grad_norm", "grad_norm_W", "loss", "grad_underflow" }
    local me = model.attention { v = ds.v }
    local re = optim.train(me, ds, optim.ngd { lr = 0.1, eps = 0 }, { iters = 30000, every = 3000, record = rec })
    local ke = tonumber(re.status:match("^gradient underflow at step (%d+): the gradient is exactly zero$"))
    assert.is_truthy(ke, re.status)
    assert.is_true(ke > 18000 and ke < 21000, re.status)
    local mr = model.attention { v = ds.v }
    local rr = optim.train(mr, ds, optim.ngd { lr = 0.1, eps = 0, rescaled = true },
      { iters = 30000, every = 3000, record = rec })
    assert.are.equal("ok", rr.status)
    assert.are.equal(30000, rr.iters)
    assert.is_true(rr.optimizer.rescaled)
    local gaps, gn, gnw, loss, uf = tt(rr.min_logit_gap), tt(rr.grad_norm), tt(rr.grad_norm_W), tt(rr.loss), tt(rr.grad_underflow)
    assert.are.equal(11, #gaps)
    assert.is_true(gaps[11] > 800, gaps[11]) -- far beyond the float64 underflow of the gradient (~745)
    local Wmm = svm.att(ds, mr:selected(ds), { norm = "fro" }).W
    local prev = math.huge
    for k = 2, 11 do
      local e = onecorr(rr.W[k], Wmm)
      assert.is_true(e < prev, string.format("k = %d: 1 - corr = %.6e, previous %.6e", (k - 1) * 3000, e, prev))
      prev = e
      assert.are.equal(0, uf[k])
    end
    -- below the underflow regime both runs are the same algorithm (rows 1..7: k <= 18000, gap < 700)
    local we, gne, losse = tt(re.W), tt(re.grad_norm), tt(re.loss)
    local wr = tt(rr.W)
    for k = 1, 7 do
      for a = 1, 10 do for b = 1, 10 do close(wr[k][a][b], we[k][a][b], 1e-9) end end
      close(gn[k], gne[k], 1e-9)          -- the true gradient norm is recorded ...
      assert.are.equal(gn[k], gnw[k])     -- (W is the only trained tensor)
      close(loss[k], losse[k], 1e-15)     -- ... and the loss
    end
    assert.is_true(gn[7] < 1e-300 and gn[7] > 0)
    assert.are.equal(0, gn[11]) -- the true norm underflows (truthfully); the direction does not
    assert.is_true(loss[11] > 0.47 and loss[11] < 0.48)
    -- the exact run never got below the rescaled run's final error
    assert.is_true(prev < onecorr(re.W[#tt(re.min_logit_gap)], Wmm))
    assert.is_true(prev < 0.5 * onecorr(re.W[7], Wmm))

    -- one more step at gap > 800: the exact NGD step cannot move (gradient 0), the rescaled one
    -- moves W by exactly eta in Frobenius norm; eps > 0 is ~0 in this regime (|g_true| << eps)
    local W0 = mr.W:clone()
    local o = optim.ngd { lr = 0.1, eps = 0, rescaled = true }
    local L = o:step(mr, ds)
    close(L, loss[11], 1e-15)
    close((mr.W - W0):norm(), 0.1, 1e-10)
    assert.are.equal(0, o.last_grad_norm)
    local W1 = mr.W:clone()
    optim.ngd { lr = 0.1, eps = 0 }:step(mr, ds)
    assert.are.equal(0, (mr.W - W1):norm())
    optim.ngd { lr = 0.1, eps = 1e-3, rescaled = true }:step(mr, ds)
    assert.are.equal(0, (mr.W - W1):norm())
  end)

  it("eps in rescaled units: the step is g_true/(|g_true| + eps), equal to the exact mode where nothing underflows", function()
    local ds, m1 = grand_w(4)
    local m2 = m1:clone()
    for _, e in ipairs { 0, 1e-3, 0.05 } do
      local a, b = optim.ngd { lr = 0.3, eps = e }, optim.ngd { lr = 0.3, eps = e, rescaled = true }
      for _ = 1, 5 do
        close(b:step(m2, ds), a:step(m1, ds), 1e-15)
        close(b.last_grad_norm, a.last_grad_norm, 1e-12)
      end
      for i, x in ipairs(flat(m1.W)) do close(flat(m2.W)[i], x, 1e-12) end
    end
    -- mirror descent (normalized, p = 3) likewise
    local c, d = optim.mirror { p = 3, lr = 0.2, normalized = true, eps = 1e-2 },
      optim.mirror { p = 3, lr = 0.2, normalized = true, eps = 1e-2, rescaled = true }
    for _ = 1, 5 do c:step(m1, ds); d:step(m2, ds) end
    for i, x in ipairs(flat(m1.W)) do close(flat(m2.W)[i], x, 1e-12) end
  end)

  it("normalized MD: p = 2 equals rescaled NGD bit for bit in the underflow regime; p = 3 keeps going", function()
    local ds = data.grand(6, 8, 10, { seed = 1 })
    local ma, mb, mc = model.attention { v = ds.v }, model.attention { v = ds.v }, model.attention { v = ds.v }
    local ra = optim.train(ma, ds, optim.ngd { lr = 1, eps = 0, rescaled = true }, { iters = 2500, every = 500, record = { "W", "min_logit_gap" } })
    local rb = optim.train(mb, ds, optim.mirror { p = 2, lr = 1, normalized = true, eps = 0, rescaled = true },
      { iters = 2500, every = 500, record = { "W" } })
    assert.are.equal("ok", ra.status)
    assert.are.equal("ok", rb.status)
    assert.is_true(tt(ra.min_logit_gap)[6] > 800)
    assert.are.same(flat(ra.W), flat(rb.W))
    local rc = optim.train(mc, ds, optim.mirror { p = 3, lr = 1000, normalized = true, eps = 0, rescaled = true },
      { iters = 4000, every = 1000, record = { "min_logit_gap", "grad_underflow" } })
    assert.are.equal("ok", rc.status)
    assert.is_true(tt(rc.min_logit_gap)[5] > 800, tt(rc.min_logit_gap)[5])
    local re = optim.train(model.attention { v = ds.v }, ds, optim.mirror { p = 3, lr = 1000, normalized = true, eps = 0 },
      { iters = 4000 })
    assert.is_truthy(re.status:match("^gradient underflow at step"), re.status)
  end)

  it("rejects rescaled where it does not apply", function()
    assert.has_error(function() optim.mirror { p = 3, lr = 1, rescaled = true } end,
      "optim.mirror: option 'rescaled' only applies with normalized = true (a plain mirror step needs the gradient's magnitude)")
    assert.has_error(function() optim.gd { lr = 1, rescaled = true } end)
    assert.has_error(function() optim.ngd { lr = 1, eps = 0, rescaled = 1 } end)
    local ds = data.grand(3, 4, 2, { seed = 1 })
    local m = model.attention { d = 2, v = { 1, 1 }, loss = loss.custom(math.exp, math.exp) }
    assert.has_error(function() optim.ngd { lr = 1, eps = 0, rescaled = true }:step(m, ds) end,
      "opt:step: rescaled = true needs a built-in loss (logistic, exponential, correlation); the model has a custom Lua loss")
    assert.is_falsy(optim.ngd { lr = 1, eps = 0 }.rescaled)
    assert.is_true(optim.ngd { lr = 1, eps = 0, rescaled = true }.rescaled)
    assert.are.equal("optim.ngd{lr=1.0, eps=0.0, rescaled=true}", tostring(optim.ngd { lr = 1, eps = 0, rescaled = true }))
    local md = optim.mirror { p = 3, lr = 1, normalized = true, eps = 0, rescaled = true }
    assert.are.equal("optim.mirror{p=3.0, lr=1.0, normalized=true, rescaled=true}", tostring(md))
    assert.is_true(md:settings().rescaled)
    assert.is_nil(optim.gd { lr = 1 }:settings().rescaled)
  end)
end)

describe("optim.regpath", function()
  it("solves along the path, warm-started; norms, certificates, parameters restored", function()
    local ds = data.grand(6, 8, 10, { seed = 2 })
    local m = model.attention { v = ds.v }
    local W0 = tt(m.W)
    local radii = { 1, 3, 10, 31.6, 100 }
    -- loss infimum for the fixed head: (1/n) sum_i logistic(max_t Y_i v.x_it)
    local X, Y, v = tt(ds.X), tt(ds.Y), tt(ds.v)
    local Linf = 0
    for i = 1, #X do
      local best = -math.huge
      for t = 1, #X[i] do best = math.max(best, Y[i] * dot(X[i][t], v)) end
      Linf = Linf + math.log(1 + math.exp(-best)) / #X
    end
    local r = optim.regpath(m, ds, { radii = radii, iters = 3000, tol = 1e-6, linf = Linf })
    assert.are.same(W0, tt(m.W))
    assert.are.same({ 5, 10, 10 }, { r.W:shape() })
    local L, N = tt(r.loss), tt(r.norm)
    for k = 1, 5 do
      assert.is_true(N[k] <= radii[k] * (1 + 1e-12))
      assert.is_true(r.converged[k])
      if k > 1 then assert.is_true(L[k] < L[k - 1]) end
      assert.is_true(L[k] > Linf)
      assert.is_true(tt(r.gap)[k] >= 0)
    end
    -- the path's limit is the max-margin direction of the selection it makes
    local last = tt(r.W)[5]
    m.W = last
    local alpha = {}
    for i, row in ipairs(tt(m:probs(ds))) do
      local b = 1
      for t = 2, #row do if row[t] > row[b] then b = t end end
      alpha[i] = b
    end
    local Wmm = svm_fro(ds, alpha)
    local w = {}
    for a = 1, 10 do for b = 1, 10 do w[#w + 1] = last[a][b] end end
    assert.is_true(corr(w, Wmm) >= 0.99)
  end)

  it("paper check: on a log grid of radii up to 100 the path aligns with W^mm(opt) (corr >= 0.99)", function()
    local radii = {}
    for k = 0, 8 do radii[#radii + 1] = 10 ^ (k / 4) end
    for seed = 0, 3 do
      local ds = data.grand(6, 8, 10, { seed = seed })
      local m = model.attention { v = ds.v }
      local r = optim.regpath(m, ds, { radii = radii, restarts = 8, seed = seed })
      local Wmm, viol = svm_fro(ds, ds:optimal())
      assert.is_true(viol < 1e-8)
      assert.is_true(r.converged[#radii])
      assert.is_true(tt(r.kkt)[#radii] <= 1e-8)
      local w = {}
      for _, row in ipairs(tt(r.W)[#radii]) do for _, x in ipairs(row) do w[#w + 1] = x end end
      assert.is_true(corr(w, Wmm) >= 0.99, string.format("seed %d: corr %.4f", seed, corr(w, Wmm)))
      for _, st in ipairs(tt(r.start)) do assert.is_true(st >= 0 and st <= 8 and st % 1 == 0) end
    end
  end)

  it("joint (v, p): separate radii {r = , R = } (one ball per tensor)", function()
    local ds, info = data.example("mm_f1a")
    local m = model.attention { param = "p", W = info.W, v = ds.v, train = { "p", "v" } }
    local r = optim.regpath(m, ds, { radii = { { r = 0.5, R = 1 }, { r = 1, R = 4 }, { v = 2, p = 16 } } })
    assert.are.same({ 3, 2 }, { r.norm:shape() })
    assert.are.same({ 3, 3 }, { r.p:shape() })
    local N = tt(r.norm)
    local want = { { 1, 0.5 }, { 4, 1 }, { 16, 2 } } -- columns in parameter order (p, v)
    for k = 1, 3 do
      for b = 1, 2 do assert.is_true(N[k][b] <= want[k][b] * (1 + 1e-12)) end
      close(norm(tt(r.p)[k]), N[k][1], 1e-12)
      if k > 1 then assert.is_true(tt(r.loss)[k] <= tt(r.loss)[k - 1]) end
    end
    assert.has_error(function() optim.regpath(m, ds, { radii = { { r = 1 } } }) end,
      "optim.regpath: option 'radii': entry 1: number expected for 'p'")
  end)

  it("(K,Q) ball |K|^2 + |Q|^2 <= 2R bounds the nuclear norm of KQ^T; nuclear ball on W", function()
    local ds = data.grand(4, 5, 6, { seed = 1 })
    local mk = model.attention { param = "KQ", v = ds.v }
    mk:init { scheme = "uniform", rng = rng.new(4) }
    local r = optim.regpath(mk, ds, { radii = { 2, 8 }, iters = 2000 })
    for k, R in ipairs { 2, 8 } do assert.is_true(tt(r.norm)[k] <= R * (1 + 1e-12)) end
    assert.are.same({ 2, 6, 6 }, { r.K:shape() })
    local mw = model.attention { v = ds.v }
    local rn = optim.regpath(mw, ds, { radii = { 2, 8 }, norm = "nuc", iters = 2000 })
    for k, R in ipairs { 2, 8 } do
      assert.is_true(tt(rn.norm)[k] <= R * (1 + 1e-9))
      -- the (K,Q) solution is feasible for the nuclear problem
      assert.is_true(tt(rn.loss)[k] <= tt(r.loss)[k] * (1 + 1e-6))
    end
    assert.has_error(function() optim.regpath(mk, ds, { radii = { 1 }, norm = "nuc" }) end)
    -- separate balls on K and Q: plain Frobenius norms per tensor
    local rs = optim.regpath(mk, ds, { radii = { { K = 1, Q = 2 }, { K = 3, Q = 0.5 } }, iters = 300 })
    assert.are.equal("fro", rs.ball)
    for k, R in ipairs { { 1, 2 }, { 3, 0.5 } } do
      for b, nm in ipairs { "K", "Q" } do
        local nb = tt(rs.norm)[k][b]
        close(nb, optim.lp_norm(mat.new(tt(rs[nm])[k])), 1e-12)
        assert.is_true(nb <= R[b] * (1 + 1e-12))
      end
    end
    assert.has_error(function() optim.regpath(mw, ds, { radii = { 0 } }) end,
      "optim.regpath: option 'radii': entry 1: radius > 0 expected, got 0.0")
    assert.has_error(function() optim.regpath(mw, ds, { radii = { 1 }, norm = 3 }) end)
    assert.has_error(function() optim.regpath(mw, ds, { radii = { 1 }, nrm = "fro" }) end)
  end)
end)

describe("metric helpers", function()
  it("corr, bregman, lp_norm, lp_normalize, project", function()
    local A = wmat { { 1, 2 }, { 2, 0 } }
    local B = wmat { { 2, 4 }, { 4, 0 } }
    local C = wmat { { 0.5, -1 }, { 2, 1 } }
    close(optim.corr(A, B), 1)
    close(optim.bregman(A, B, 3), 0, 1e-15)
    -- D_psi(a^, c^) = 1 - <sign(c^)|c^|^{p-1}, a^>
    for _, p in ipairs { 1.5, 2, 3 } do
      local a, c = flat(A), flat(C)
      local na, nc = 0, 0
      for j = 1, 4 do na = na + math.abs(a[j]) ^ p; nc = nc + math.abs(c[j]) ^ p end
      na, nc = na ^ (1 / p), nc ^ (1 / p)
      local s = 0
      for j = 1, 4 do
        local ch = c[j] / nc
        s = s + (ch >= 0 and 1 or -1) * math.abs(ch) ^ (p - 1) * a[j] / na
      end
      close(optim.bregman(A, C, p), 1 - s, 1e-14)
    end
    close(optim.lp_norm(A, 1), 5)
    close(optim.lp_norm(A, math.huge), 2)
    close(optim.lp_norm(A), 3)
    assert.are.same({ { 0.2, 0.4 }, { 0.4, 0 } }, tt(optim.lp_normalize(A, 1)))
    local P = tt(optim.project(A, 1.5))
    close(P[1][2], 1)
    assert.are.same({ { 1, 1.5 }, { 1.5, 0 } }, tt(optim.project(A, 1.5, math.huge)))
    -- nuclear ball: A symmetric with eigenvalues l1 > 0 > l2; singular values |l| shrink by
    -- theta so that they sum to 2; P = f(A) with f(l1) = s1 - theta, f(l2) = -(|l2| - theta)
    local l1, l2 = (1 + math.sqrt(17)) / 2, (1 - math.sqrt(17)) / 2
    local theta = (l1 - l2 - 2) / 2
    local mu1, mu2 = l1 - theta, l2 + theta
    local a1, b1 = (mu1 - mu2) / (l1 - l2), (l1 * mu2 - l2 * mu1) / (l1 - l2)
    local Pn = tt(optim.project(A, 2, "nuc"))
    local Araw = { { 1, 2 }, { 2, 0 } }
    for i = 1, 2 do for j = 1, 2 do close(Pn[i][j], a1 * Araw[i][j] + (i == j and b1 or 0), 1e-13) end end
    assert.has_error(function() optim.bregman(A, B, 1) end, "optim.bregman: bad argument #3 (p > 1 expected, got 1.0)")
    assert.has_error(function() optim.bregman(A, wmat { { 0, 0 }, { 0, 0 } }, 2) end,
      "optim.bregman: an argument is zero (its direction is undefined)")
    assert.has_error(function() optim.corr(A, 3) end, "optim.corr: bad argument #2 (mat expected, got number)")
  end)
end)

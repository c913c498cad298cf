-- hardmax.model: reference values (theory.md Appendix items 1-3), API behaviour, stability
-- in the saturated regime, and errors.
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local loss = require "hardmax.loss"
local rng = require "hardmax.rng"

local function tt(a) return a:totable() end

local function rel(a, b) return math.abs(a - b) / math.max(math.abs(b), 1e-300) end
-- Default tolerance (the theory.md Appendix reference values and identities between small
-- computations): the references are printed with 15 decimals (rounding <= 5e-16); each
-- computed value is a sum of <= 16 terms of <= 4 rounded operations (exp/log within 1 ulp)
-- whose magnitudes are <= S = max(4, |b|) here (|v_j| <= 2, unit-scale tokens, probabilities),
-- so it is within 64 eps S of exact. An explicit tol is relative (a stated bound at the site).
local EPS = 2 ^ -52
local function close(a, b, tol)
  local ok
  if tol then
    ok = rel(a, b) <= tol or math.abs(a - b) <= 1e-15
  else
    ok = math.abs(a - b) <= 5e-16 + 64 * EPS * math.max(4, math.abs(b))
  end
  assert.is_true(ok, string.format("%.17g vs %.17g (rel %.3g)", a, b, rel(a, b)))
end
local function close_vec(a, b, tol) for i = 1, #b do close(a[i], b[i], tol) end end
local function close_mat(a, b, tol) for i = 1, #b do close_vec(a[i], b[i], tol) end end

local smallX = { { { 1, 0 }, { 0, 1 }, { 1, 1 } }, { { 0.5, -1 }, { 1, 0.5 }, { -1, 0 } } }
local function small_ds() return data.new { X = smallX, Z = { { 1, 0 }, { 0, 1 } }, Y = { 1, -1 } } end

describe("reference values (theory.md Appendix)", function()
  it("item 1: MM-F1a at p = 0 and p = (0,1,0)", function()
    local ds, info = data.example("mm_f1a")
    local m = model.attention { param = "p", W = info.W, v = ds.v, train = { "p", "v" } }
    local g, L = m:grad(ds)
    close(L, 0.331632487383316)
    close(m:loss(ds), 0.331632487383316)
    close(tt(m:forward(ds))[1], 0.933333333333333)
    close_vec(tt(m:probs(ds))[1], { 1 / 3, 1 / 3, 1 / 3 })
    close_vec(tt(g.p), { 0.003763319240563, -0.006272198734272, 0 })
    close_vec(tt(g.v), { -0.084674682912678, -0.094082981014087, -0.263432346839443 })
    m.p = { 0, 1, 0 }
    g, L = m:grad(ds)
    close(L, 0.324839441802509)
    close_vec(tt(m:probs(ds))[1], { 0.576116884765829, 0.211941557617085, 0.211941557617085 })
    close_vec(tt(g.p), { 0.004063932840365, -0.006773221400608, 0 })
  end)

  it("item 2: MM-F3 tight at the initialization", function()
    local ds, info = data.example("mm_f3_tight")
    local m = model.attention { param = "p", p = info.p0, v = info.v0, train = { "p", "v" } }
    local g, L = m:grad(ds)
    close(L, 0.664086695089177)
    close_vec(tt(g.p), { 0.024593682901504, 0.075930154664583 })
    close_vec(tt(g.v), { 0.004457526677075, -0.177836591793993 })
  end)

  local Wref = {
    logistic = { 0.890777586116943, { { -0.126736346712695, 0.183324194291215 }, { 0.175963778915440, -0.139999294316445 } } },
    exponential = { 1.462379306304021, { { -0.356742136585219, 0.386799710584579 }, { 0.495309325857469, -0.295387560452740 } } },
    correlation = { 0.350142554566705, { { -0.196569813022314, 0.348492765059547 }, { 0.272922235943253, -0.266133673034019 } } },
  }
  for lname, ref in pairs(Wref) do
    it("item 3: small W example, " .. lname .. " loss", function()
      local ds = small_ds()
      local m = model.attention { W = { { 0.3, -0.2 }, { 0.1, 0.4 } }, v = { 1, -2 }, loss = lname }
      local g, L = m:grad(ds)
      close(L, ref[1])
      close_mat(tt(g.W), ref[2])
      -- the loss object form gives the same
      local m2 = model.attention { W = { { 0.3, -0.2 }, { 0.1, 0.4 } }, v = { 1, -2 }, loss = loss[lname] }
      close(m2:loss(ds), ref[1])
    end)
  end

  it("item 3: (K,Q) example", function()
    local ds = small_ds()
    local m = model.attention { param = "KQ", K = { { 0.5, 0.1 }, { -0.3, 0.2 } }, Q = { { 0.2, -0.4 }, { 0.6, 0.1 } }, v = { 1, -2 } }
    local g, L = m:grad(ds)
    close(L, 1.091891238263366)
    close_mat(tt(g.K), { { 0.063050712474741, 0.070978231042174 }, { -0.137449122058196, -0.102980219778253 } })
    close_mat(tt(g.Q), { { -0.125207306104826, 0.023001758440167 }, { 0.163002590126324, -0.042975174753664 } })
    -- effective W = K Q^T
    close_mat(tt(m:effective_w()), { { 0.5 * 0.2 + 0.1 * -0.4, 0.5 * 0.6 + 0.1 * 0.1 }, { -0.3 * 0.2 + 0.2 * -0.4, -0.3 * 0.6 + 0.2 * 0.1 } })
    -- ridge adds lambda(|K|^2+|Q|^2) and 2 lambda K
    local mr = model.attention { param = "KQ", K = { { 0.5, 0.1 }, { -0.3, 0.2 } }, Q = { { 0.2, -0.4 }, { 0.6, 0.1 } }, v = { 1, -2 }, ridge = 0.01 }
    local gr, Lr = mr:grad(ds)
    close(Lr, 1.091891238263366 + 0.01 * (0.25 + 0.01 + 0.09 + 0.04 + 0.04 + 0.16 + 0.36 + 0.01))
    close(tt(gr.K)[1][1], 0.063050712474741 + 0.02 * 0.5)
  end)

  it("M4 (W with fixed prompt) equals M1 gradient chain: grad_W = (sum u) p^T", function()
    local ds, info = data.example("mm_f1a")
    -- at W = I, p = (0,1,0): grad_p = W^T sum u = sum u, grad_W = (sum u) p^T
    local m1 = model.attention { param = "p", v = ds.v, p = { 0, 1, 0 } }
    local m4 = model.attention { param = "W", query = "prompt", p = { 0, 1, 0 }, v = ds.v,
      W = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } } }
    local gp, L1 = m1:grad(ds)
    local gW, L4 = m4:grad(ds)
    close(L1, L4)
    local GW, gpv = tt(gW.W), tt(gp.p)
    for a = 1, 3 do
      close(GW[a][2], gpv[a])
      assert.are.equal(0, GW[a][1])
      assert.are.equal(0, GW[a][3])
    end
  end)
end)

describe("model API", function()
  it("parameters read as views and write as copies with shape checks", function()
    local m = model.attention { d = 2, v = { 1, -2 } }
    local W = m.W
    assert.are.same({ { 0, 0 }, { 0, 0 } }, tt(W))
    m.W = { { 1, 2 }, { 3, 4 } }
    assert.are.same({ { 1, 2 }, { 3, 4 } }, tt(W)) -- the view sees the write
    assert.are.same({ { 1, 2 }, { 3, 4 } }, tt(m:effective_w()))
    assert.has_error(function() m.W = { { 1, 2, 3 }, { 3, 4, 5 } } end,
      "model.__newindex: W must be 2x2, got shape 2x3")
    assert.has_error(function() m.W = { { 0 / 0, 2 }, { 3, 4 } } end,
      "model.__newindex: W contains NaN or Inf")
    assert.has_error(function() m.K = { { 1 } } end)
    assert.is_nil(m.K)
    assert.are.same({ "W", "v" }, m.params)
    assert.are.same({ "W" }, m.train)
    m.train = { "W", "v" }
    assert.are.same({ "W", "v" }, m.train)
    -- writes through a view reach the model (as optimizer updates do)
    W:set(2, 1, 7)
    assert.are.same({ { 1, 2 }, { 7, 4 } }, tt(m:effective_w()))
    -- non-finite parameters (e.g. from a diverged update through a view) are reported
    W:set(1, 1, 0 / 0)
    assert.has_error(function() m:loss(small_ds()) end, "model.loss: parameter W contains NaN or Inf")
  end)

  it("objective for optimizers: one GD step through optim.train updates the aliased storage", function()
    local optim = require "hardmax.optim"
    local ds = small_ds()
    local m = model.attention { W = { { 0.3, -0.2 }, { 0.1, 0.4 } }, v = { 1, -2 }, train = { "W", "v" } }
    local view = m.W
    local g = m:grad(ds)
    local G, gv = tt(g.W), tt(g.v)
    optim.train(m, ds, optim.gd { lr = 0.5 }, { iters = 1 })
    local W1 = tt(view) -- the view taken before the step sees the update
    close(W1[1][1], 0.3 - 0.5 * G[1][1], 1e-14)
    close(W1[2][2], 0.4 - 0.5 * G[2][2], 1e-14)
    close(tt(m.v)[2], -2 - 0.5 * gv[2], 1e-14)
  end)

  it("describes itself", function()
    local m = model.attention { param = "KQ", d = 3, m = 2, v = { 1, 0, 0 }, loss = "exponential" }
    assert.are.equal("model(param=KQ, d=3, head=linear, query=cross, loss=exponential)", tostring(m))
    assert.are.equal(3, m.d)
    assert.are.equal(2, m.m)
    assert.are.equal("exponential", m.loss_fn:name())
    local s = model.attention { d = 2, v = { 1, 0 }, output = "sequence", mask = "causal" }
    assert.are.equal("model(param=W, d=2, head=linear, query=all, sequence causal, loss=logistic)", tostring(s))
    assert.is_nil(s.m)
  end)

  it("clone is deep", function()
    local m = model.attention { d = 2, v = { 1, -2 }, W = { { 1, 0 }, { 0, 1 } } }
    local c = m:clone()
    c.W = { { 5, 5 }, { 5, 5 } }
    assert.are.same({ { 1, 0 }, { 0, 1 } }, tt(m.W))
    assert.are.same({ { 5, 5 }, { 5, 5 } }, tt(c.W))
    local ds = small_ds()
    close(m:loss(ds), m:clone():loss(ds), 0)
  end)

  it("init schemes: zeros, uniform U(+-1/sqrt(d)), normal(std), reproducible with rng", function()
    local m = model.attention { d = 4, v = { 1, 0, 0, 0 } }
    m:init { scheme = "uniform", rng = rng.new(3) }
    local a = tt(m.W)
    local maxabs = 0
    for i = 1, 4 do for j = 1, 4 do maxabs = math.max(maxabs, math.abs(a[i][j])) end end
    assert.is_true(maxabs <= 0.5 and maxabs > 0.1)
    m:init { scheme = "uniform", rng = rng.new(3) }
    assert.are.same(a, tt(m.W))
    m:init { scheme = "zeros" }
    assert.are.same({ 0, 0, 0, 0 }, tt(m.W)[2])
    m:init { scheme = "normal", std = 0, rng = rng.new(1) }
    assert.are.same({ 0, 0, 0, 0 }, tt(m.W)[1])
    m:init { scheme = "normal", std = 10, rng = rng.new(1) }
    assert.is_true(math.abs(tt(m.W)[1][1]) > 0)
    assert.are.same({ 1, 0, 0, 0 }, tt(m.v)) -- only trainable parameters by default
    assert.has_error(function() m:init { scheme = "he" } end)
    assert.has_error(function() m:init { sheme = "zeros" } end)
  end)

  it("selected, probs and forward for single and sequence outputs", function()
    local ds = small_ds()
    local m = model.attention { W = { { 3, 0 }, { 0, 3 } }, v = { 1, -2 } }
    -- sample 1: z=(1,0): logits x^T W z = 3*x_1 -> tokens 1 and 3 tie at 3 (first wins)
    -- sample 2: z=(0,1): logits 3*x_2 = (-3, 1.5, 0) -> token 2
    assert.are.same({ 1, 2 }, m:selected(ds))
    local S = tt(m:probs(ds))
    close(S[1][1], S[1][3])
    close(S[2][1] + S[2][2] + S[2][3], 1)
    -- forward = <X_i v, s_i>
    local f = tt(m:forward(ds))
    local g1 = { 1, -2, -1 }
    close(f[1], S[1][1] * g1[1] + S[1][2] * g1[2] + S[1][3] * g1[3])
    -- causal sequence: first row attends only to token 1
    local sq = data.new { X = smallX, Y = { { 1, -1, 1 }, { -1, 1, 1 } } }
    local mc = model.attention { W = { { 1, 0.5 }, { -0.2, 1 } }, v = { 1, -2 }, output = "sequence", mask = "causal" }
    local P = tt(mc:probs(sq))
    assert.are.equal(1, P[1][1][1])
    assert.are.equal(0, P[1][1][2])
    assert.are.equal(0, P[2][2][3])
    close(P[2][2][1] + P[2][2][2], 1)
    local sel = mc:selected(sq)
    assert.are.equal(1, sel[1][1])
    assert.are.equal(3, #sel[2])
    assert.are.equal(2, #tt(mc:forward(sq)))
    assert.are.equal(3, #tt(mc:forward(sq))[1])
  end)

  it("sequence loss equals the sum of per-query single-output losses (self-attention)", function()
    local sq = data.new { X = smallX, Y = { { 1, -1, 1 }, { -1, 1, 1 } } }
    local Wm = { { 1, 0.5 }, { -0.2, 1 } }
    local ms = model.attention { W = Wm, v = { 1, -2 }, output = "sequence" }
    local total = 0
    for k = 1, 3 do
      local dk = data.new { X = smallX, Y = { sq.Y and tt(sq.Y)[1][k], tt(sq.Y)[2][k] } }
      total = total + model.attention { W = Wm, v = { 1, -2 }, query = k }:loss(dk)
    end
    close(ms:loss(sq), total, 1e-14)
    local mm = model.attention { W = Wm, v = { 1, -2 }, output = "sequence", position_reduction = "mean" }
    close(mm:loss(sq), total / 3, 1e-14)
  end)

  it("stays exact in the saturated regime (logit gap 60: the naive formula gives 0)", function()
    -- n = 1, T = 2, d = 2, z = e1, x_1 = (1, 0), x_2 = (0, 0); a = (w11, 0)
    local ds = data.new { X = { { { 1, 0 }, { 0, 0 } } }, Z = { { 1, 0 } }, Y = { 1 } }
    local v = { 2, 0 } -- g = X v = (2, 0)
    local gap = 60
    local m = model.attention { W = { { gap, 0 }, { 0, 0 } }, v = v }
    local s2 = 1 / (1 + math.exp(gap))
    local s1 = 1 - s2
    local f = 2 - 2 * s2                     -- exact value, f = g1 + s2 (g2 - g1)
    local lp = -1 / (1 + math.exp(f))        -- logistic l'(f)
    -- grad_W = c X^T r z^T with r = s1 s2 (g - g_bar-ish): r_1 = s1 s2 * 2, r_2 = -r_1
    local r1 = s1 * s2 * 2
    local g = tt(m:grad(ds).W)
    close(g[1][1], lp * r1, 1e-12)          -- X^T r = (r1, 0)
    assert.are.equal(0, g[2][1])
    assert.is_true(g[1][1] ~= 0)
    local dg = m:diagnostics(ds)
    close(dg.min_logit_gap, gap)
    assert.are.equal(0, dg.grad_underflow)
    -- beyond ~745 the attention gradient underflows to exactly zero: reported, not divided
    m.W = { { 800, 0 }, { 0, 0 } }
    dg = m:diagnostics(ds)
    assert.are.equal(1, dg.grad_underflow)
    close(dg.min_logit_gap, 800)
    assert.are.equal(0, tt(m:grad(ds).W)[1][1])
  end)

  it("rescaled directions: exp(scale) * g equals the exact gradient, and survive underflow", function()
    local base = data.grand(4, 5, 3, { seed = 21 })
    local seqds = data.new { X = base.X, Y = { { 1, -1, 1, 1, -1 }, { -1, -1, 1, 1, 1 }, { 1, 1, 1, -1, -1 }, { -1, 1, -1, 1, -1 } } }
    local V = { { 0.9, -0.4, 0.3 }, { -0.2, 0.8, 0.5 }, { 0.4, 0.1, -0.7 } }
    local cases = {
      { { d = 3, v = base.v }, base },
      { { param = "KQ", d = 3, v = base.v, ridge = 0.01, loss = "exponential" }, base },
      { { param = "p", d = 3, train = { "p", "v" } }, base },
      { { d = 3, head = "relu", V = V, train = { "W", "V", "v" }, loss = "correlation" }, base },
      { { d = 3, head = "lambda", lambda = 0.2, train = { "W", "v" } }, base },
      { { d = 3, v = base.v, output = "sequence", mask = "causal" }, seqds },
    }
    for ci, cs in ipairs(cases) do
      local m = model.attention(cs[1])
      m:init { scheme = "normal", std = 3, rng = rng.new(ci), params = m.params }
      local ge = m:grad(cs[2])
      local gr, _, sc = m:grad(cs[2], { rescaled = true })
      for _, name in ipairs(m.train) do
        local e, r = tt(ge[name]), tt(gr[name])
        local f = math.exp(sc[name])
        if type(e[1]) == "number" then e, r = { e }, { r } end
        local scale = 0
        for i = 1, #e do for j = 1, #e[i] do scale = math.max(scale, math.abs(e[i][j])) end end
        for i = 1, #e do for j = 1, #e[i] do
          assert.is_true(math.abs(r[i][j] * f - e[i][j]) <= 1e-12 * scale,
            string.format("case %d %s: %.17g vs %.17g", ci, name, r[i][j] * f, e[i][j]))
        end end
      end
    end
    -- gap 800: the exact gradient is 0, the rescaled one is the exact direction
    local ds = data.new { X = { { { 1, 0 }, { 0, 0 } } }, Z = { { 1, 0 } }, Y = { 1 } }
    local m = model.attention { W = { { 800, 0 }, { 0, 0 } }, v = { 2, 0 } }
    local g, _, sc = m:grad(ds, { rescaled = true })
    local G = tt(g.W)
    assert.is_true(G[1][1] < 0)
    assert.are.equal(0, G[2][1])
    close(math.log(-G[1][1]) + sc.W, math.log(2 / (1 + math.exp(2))) - 800, 1e-14)
    assert.are.equal(1, m:diagnostics(ds).grad_underflow) -- exact mode underflows here
    local c = model.attention { d = 2, v = { 1, 1 }, loss = loss.custom(math.exp, math.exp) }
    assert.has_error(function() c:grad(ds, { rescaled = true }) end,
      "model.grad: option 'rescaled' needs a built-in loss (logistic, exponential, correlation)")
  end)

  it("custom losses are evaluated per sample and agree with the built-in", function()
    local ds = small_ds()
    local c = loss.custom(function(x) return math.log(1 + math.exp(-x)) end,
      function(x) return -1 / (1 + math.exp(x)) end)
    local m1 = model.attention { W = { { 0.3, -0.2 }, { 0.1, 0.4 } }, v = { 1, -2 }, loss = c }
    close(m1:loss(ds), 0.890777586116943, 1e-14)
    local failing = loss.custom(function() error("boom") end, function() return 0 end)
    local m2 = model.attention { d = 2, v = { 1, -2 }, loss = failing }
    assert.has_error(function() m2:loss(ds) end)
    local ok, msg = pcall(m2.loss, m2, ds)
    assert.is_false(ok)
    assert.truthy(msg:match("model%.loss: custom loss: value raised: .*boom"))
  end)
end)

describe("model errors", function()
  local ds = small_ds()
  it("rejects unknown options and bad choices", function()
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, headd = "linear" } end)
    local ok, msg = pcall(model.attention, { d = 2, v = { 1, 1 }, headd = "linear" })
    assert.truthy(msg:match("model%.attention: unknown option 'headd'"))
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, param = "X" } end,
      "model.attention: option 'param': expected one of W, KQ, p, got 'X'")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, loss = "hinge" } end)
    assert.has_error(function() model.attention { d = 2 } end,
      "model.attention: option 'v' (head vector) is required unless 'v' is trained")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, train = { "K" } } end,
      "model.attention: option 'train': 'K' is not a parameter of this model")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, head = "relu" } end)
    assert.has_error(function() model.attention { d = 3, param = "KQ", m = 4, v = { 1, 1, 1 } } end,
      "model.attention: option 'm': 1 <= m <= d=3 expected, got 4")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, ridge = 1 } end,
      "model.attention: option 'ridge' needs param=\"KQ\"")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, mask = "causal" } end,
      "model.attention: option 'mask' needs output=\"sequence\"")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, W = { { 1, 2, 3 } } } end)
    assert.has_error(function() model.attention { d = 2, v = { 1, 0 / 0 } } end,
      "model.attention: option 'v' contains NaN or Inf")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, query = "prompt" } end,
      "model.attention: query=\"prompt\" needs the fixed prompt vector 'p'")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 }, query = 0 } end)
    assert.has_error(function() model.attention { d = 0, v = { 1 } } end,
      "model.attention: option 'd': integer >= 1 expected")
    assert.has_error(function() model.attention { param = "KQ", K = { { 1 }, { 2 } }, Q = { { 1, 2 }, { 3, 4 } }, v = { 1, 1 } } end,
      "model.attention: Q must be 2x1, got shape 2x2")
    local m1 = model.attention { param = "KQ", K = { { 1 }, { 2 } }, Q = { { 1 }, { 3 } }, v = { 1, 1 } }
    assert.are.same({ 2, 1 }, { m1.K:shape() })
    assert.are.same({ { 1, 3 }, { 2, 6 } }, tt(m1:effective_w()))
    assert.has_error(function() m1.foo = 1 end, "model.__newindex: cannot set field 'foo' (settable: K, Q, v, train)")
  end)

  it("checks model/dataset compatibility", function()
    local m3 = model.attention { d = 3, v = { 1, 1, 1 } }
    assert.has_error(function() m3:loss(ds) end,
      "model.loss: dataset has token dimension d=2 but the model has d=3")
    local noZ = data.new { X = smallX, Y = { 1, -1 } }
    local m = model.attention { d = 2, v = { 1, 1 } }
    assert.has_error(function() m:grad(noZ) end,
      "model.grad: cross-attention model needs query tokens Z but the dataset has none")
    local mq = model.attention { d = 2, v = { 1, 1 }, query = 4 }
    assert.has_error(function() mq:forward(noZ) end,
      "model.forward: query token index 4 out of range for T=3 tokens")
    local ms = model.attention { d = 2, v = { 1, 1 }, output = "sequence" }
    assert.has_error(function() ms:loss(noZ) end)
    assert.has_error(function() m:loss(42) end, "model.loss: bad argument #2 (dataset expected, got number)")
    assert.has_error(function() model.attention { d = 2, v = { 1, 1 } }.loss(ds, ds) end)
  end)

  it("reports overflow and non-finite parameters", function()
    local m = model.attention { d = 2, v = { 1, -2 }, loss = "exponential", W = { { 1e3, 0 }, { 0, 1e3 } } }
    local bad = data.new { X = { { { 800, 0 }, { 0, 0 } } }, Z = { { 1, 0 } }, Y = { -1 } }
    assert.has_error(function() m:loss(bad) end)
    local ok, msg = pcall(m.loss, m, bad)
    assert.truthy(msg:match("^model%.loss: loss or gradient is not finite"))
  end)
end)

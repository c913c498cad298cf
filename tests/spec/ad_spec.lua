-- hardmax.ad: every op against central finite differences, the saturated regime of the
-- softmax family against closed forms, tape re-use / aliasing / freeing, bad shapes, and the
-- optimizers on ad objectives.
--
-- Gradcheck criterion (obj:gradcheck, as m:gradcheck): max_j |g_j - fd_j| <= tol * max_j |fd_j|
-- with central differences of step h = 1e-5 on O(1) inputs. Truncation error h^2/6 |f'''| and
-- rounding error ~ eps |L| / h are both <= ~1e-10 of the gradient scale here, so tol = 1e-6
-- (design.md §4) leaves four orders of margin and still catches any wrong derivative (which
-- is off by O(1) of the scale).
require "hardmax"
local mat = require "hardmax.mat"
local ad = require "hardmax.ad"
local rng = require "hardmax.rng"
local optim = require "hardmax.optim"

local g = rng.new(20261208)
local function R(...) return mat.randn(g, ...) end
local function U(lo, hi, ...) return mat.rand(g, ...) * (hi - lo) + lo end

-- Σ w ⊙ y with fixed random weights: every entry of y gets its own sensitivity
local function scal(y) return ad.sum(y:mul(R(y:shape()))) end

local function gradcheck(f, params, tol)
  local obj = ad.objective(f, params)
  local worst, per = obj:gradcheck { h = 1e-5 }
  local detail = {}
  for k, v in pairs(per) do detail[#detail + 1] = string.format("%s %.3g", k, v) end
  assert.is_true(worst <= (tol or 1e-6), "gradcheck: " .. table.concat(detail, ", "))
  return worst
end

local function raises(fn, needle)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error containing: " .. needle)
  assert.is_truthy(tostring(err):find(needle, 1, true), "error '" .. tostring(err) .. "' lacks '" .. needle .. "'")
end

describe("ad ops: finite-difference gradchecks", function()
  it("element-wise binary ops with broadcasting, both operands variables", function()
    local shapes = { { { 3, 4 }, { 3, 4 } }, { { 3, 4 }, { 4 } }, { { 2, 3, 4 }, { 3, 1 } }, { { 2, 1, 4 }, { 3, 4 } },
      { { 1 }, { 2, 3 } }, { { 2, 3, 1 }, { 2, 1, 5 } } }
    for _, sh in ipairs(shapes) do
      local a, b = R(table.unpack(sh[1])), U(0.5, 2, table.unpack(sh[2]))
      gradcheck(function(p) return scal(p.a + p.b) end, { a = a, b = b })
      gradcheck(function(p) return scal(p.a - p.b) end, { a = a, b = b })
      gradcheck(function(p) return scal(p.a:mul(p.b)) end, { a = a, b = b })
      gradcheck(function(p) return scal(p.a:div(p.b)) end, { a = a, b = b })
      gradcheck(function(p) return scal(ad.div(p.b, p.b:mul(p.b) + 1)) end, { b = b }) -- same node twice
    end
  end)

  it("scalar ops, negation and pow", function()
    local x = U(0.5, 2, 3, 4)
    gradcheck(function(p) return scal(2.5 * p.x + (p.x * -1.5) + (p.x + 3) + (3 - p.x) * 2 - (p.x - 1) * 0.5) end, { x = x })
    gradcheck(function(p) return scal(p.x / 4 + 2 / p.x - p.x) end, { x = x })
    gradcheck(function(p) return scal(ad.pow(p.x, 3) + p.x:pow(0.5) + p.x:pow(-2)) end, { x = x })
  end)

  it("element-wise functions and the margin losses", function()
    local x, pos = R(4, 5), U(0.2, 3, 4, 5)
    local away = R(4, 5) -- relu and abs away from their kink
    for i = 1, 4 do for j = 1, 5 do if math.abs(away[i][j]) < 0.1 then away[i][j] = 0.5 end end end
    for _, op in ipairs { "exp", "tanh", "sigmoid", "logistic", "exponential" } do
      gradcheck(function(p) return scal(ad[op](p.x)) end, { x = x })
    end
    gradcheck(function(p) return scal(ad.log(p.x) + ad.log1p(p.x)) end, { x = pos })
    gradcheck(function(p) return scal(ad.relu(p.x) + ad.abs(p.x)) end, { x = away })
  end)

  it("matrix products in every mode", function()
    local cases = {
      { { 3, 4 }, { 4, 5 } }, { { 3, 4 }, { 4 } }, { { 4 }, { 4, 5 } }, { { 2, 3, 4 }, { 4, 5 } },
      { { 2, 3, 4 }, { 4 } }, { { 2, 3, 4 }, { 2, 4, 5 } } }
    for _, c in ipairs(cases) do
      gradcheck(function(p) return scal(p.a * p.b) end, { a = R(table.unpack(c[1])), b = R(table.unpack(c[2])) })
    end
    gradcheck(function(p) return scal(ad.bmm(p.a, p.b)) end, { a = R(2, 3, 4), b = R(2, 4, 2) })
    gradcheck(function(p) return scal(ad.bmv(p.A, p.x)) end, { A = R(3, 4, 5), x = R(3, 5) })
    gradcheck(function(p) return scal(ad.bvm(p.x, p.A)) end, { A = R(3, 4, 5), x = R(3, 4) })
    -- a * B:t() reads B in transposed mode: same values and gradients as the explicit transpose
    gradcheck(function(p) return scal(p.a * p.b:t()) end, { a = R(2, 3, 4), b = R(5, 4) })
    local A, B = R(3, 4), R(5, 4)
    local L1, g1 = ad.grad(function(p) return ad.sum((p.a * p.b:t()):pow(2)) end, { a = A, b = B })
    local L2, g2 = ad.grad(function(p) return ad.sum((p.a * ad.reshape(p.b:t() + 0, 4, 5)):pow(2)) end, { a = A, b = B })
    assert.is_true(math.abs(L1 - L2) <= 1e-13 * L2)
    assert.is_true((g1.a - g2.a):norm() <= 1e-13 * g2.a:norm() and (g1.b - g2.b):norm() <= 1e-13 * g2.b:norm())
  end)

  it("sum and mean over everything and along each axis", function()
    local x = R(2, 3, 4)
    for _, op in ipairs { "sum", "mean" } do
      gradcheck(function(p) return ad[op](p.x) * 1.7 end, { x = x })
      for axis = 1, 3 do gradcheck(function(p) return scal(ad[op](p.x, axis)) end, { x = x }) end
      gradcheck(function(p) return scal(ad[op](p.v, 1)) end, { v = R(5) })
    end
    local y = ad.grad(function(p) return ad.mean(p.x) end, { x = mat.new { 1, 2, 3, 6 } })
    assert.are.equal(3, y)
  end)

  it("transpose, reshape, slice, concat, gather and pick", function()
    gradcheck(function(p) return scal(p.x:t()) end, { x = R(3, 4) })
    gradcheck(function(p) return scal(ad.transpose(p.x)) end, { x = R(2, 3, 4) })
    gradcheck(function(p) return scal(ad.reshape(p.x, 4, 6)) end, { x = R(2, 3, 4) })
    for axis = 1, 3 do gradcheck(function(p) return scal(ad.slice(p.x, axis, 2, 2)) end, { x = R(3, 3, 3) }) end
    for axis = 1, 2 do gradcheck(function(p) return scal(ad.concat(p.a, p.b, axis)) end, { a = R(2, 3), b = R(2, 3) }) end
    gradcheck(function(p) return scal(ad.gather(p.E, { 3, 1, 3, 2 })) end, { E = R(4, 5) }) -- repeated row
    gradcheck(function(p) return scal(ad.gather(p.E, mat.new { { 1, 2, 2 }, { 4, 4, 1 } })) end, { E = R(4, 5) })
    gradcheck(function(p) return scal(ad.pick(p.x, { 2, 1, 3 })) end, { x = R(3, 4) })
    gradcheck(function(p) return scal(ad.pick(p.x, { 2, 2, 4 })) end, { x = R(3, 4, 2) })
    local v = ad.grad(function(p) return ad.sum(ad.gather(p.E, { 2, 2 })) end, { E = mat.new { { 1, 2 }, { 3, 4 } } })
    assert.are.equal(14, v)
  end)

  it("softmax, log_softmax, logsumexp along every axis", function()
    for _, op in ipairs { "softmax", "log_softmax", "logsumexp" } do
      gradcheck(function(p) return scal(ad[op](p.x)) end, { x = R(3, 5) })
      for axis = 1, 3 do gradcheck(function(p) return scal(ad[op](p.x, axis)) end, { x = R(2, 3, 4) * 3 }) end
    end
  end)

  it("attend (fused attention) with n x T and n x T x d values, both operands variables", function()
    gradcheck(function(p) return scal(ad.attend(p.a, p.v)) end, { a = R(4, 6) * 2, v = R(4, 6) })
    gradcheck(function(p) return scal(ad.attend(p.a, p.v)) end, { a = R(4, 6) * 2, v = R(4, 6, 3) })
    -- equals softmax, product and sum
    local a, v = R(3, 5), R(3, 5, 2)
    local obj1 = ad.objective(function(p) return ad.sum(ad.attend(p.a, p.v):pow(2)) end, { a = a, v = v })
    local obj2 = ad.objective(function(p)
      local s = ad.reshape(ad.softmax(p.a), 3, 5, 1)
      return ad.sum(ad.sum(s:mul(p.v), 2):pow(2))
    end, { a = a, v = v })
    local L1, g1 = obj1:grad()
    local L2, g2 = obj2:grad()
    assert.is_true(math.abs(L1 - L2) <= 1e-14 * L2)
    assert.is_true((g1.a - g2.a):norm() <= 1e-13 * g2.a:norm())
  end)

  it("log_mass and cross_entropy", function()
    local mask = mat.new { { 1, 0, 1, 0, 0 }, { 0, 0, 0, 0, 1 }, { 1, 1, 1, 1, 0 } }
    gradcheck(function(p) return scal(ad.log_mass(p.x, mask)) end, { x = R(3, 5) * 2 })
    gradcheck(function(p) return ad.mean(ad.cross_entropy(p.x, { 2, 5, 1 })) end, { x = R(3, 5) * 2 })
    -- values: log of the softmax mass, -log p_label
    local x = R(3, 5)
    local lm = ad.grad(function(p) return ad.sum(ad.log_mass(p.x, mask)) end, { x = x })
    local sm = x:softmax(2)
    local want = 0
    for i = 1, 3 do
      local s = 0
      for j = 1, 5 do if mask[i][j] == 1 then s = s + sm[i][j] end end
      want = want + math.log(s)
    end
    assert.is_true(math.abs(lm - want) <= 1e-14 * math.abs(want))
  end)

  it("a composite (two-layer attention with an MLP head) passes the gradcheck", function()
    local X = R(3, 4, 5)
    gradcheck(function(p)
      local a1 = ad.bmm(X * p.W1, ad.transpose(X))       -- 3 x 4 x 4 self-attention logits
      local H = ad.bmm(ad.softmax(a1), X)                -- 3 x 4 x 5
      local a2 = ad.bmv(H, ad.pick(H, { 1, 1, 1 }) * p.W2:t())
      local h = ad.attend(a2, H)                         -- 3 x 5
      return ad.mean(ad.logistic(ad.tanh(h * p.V) * p.v))
    end, { W1 = R(5, 5) * 0.5, W2 = R(5, 5) * 0.5, V = R(5, 3), v = R(3) })
  end)
end)

describe("ad: the saturated regime is exact (no 1 - s cancellation)", function()
  -- Probabilities are exp(x_t - lse) with |lse| ~ gap, whose rounding (|lse| eps absolute)
  -- becomes a relative error ~gap eps of each probability: the achievable accuracy is a small
  -- multiple of (1 + gap) eps, here tol = 8 (1 + gap) eps = 1.1e-13 relative. A 1 - s
  -- cancellation would instead give an O(1) relative error (or exactly 0) at this gap.
  local gap = 60
  local tol = 8 * (1 + gap) * 2.220446049250313e-16
  it("cross_entropy gradient at the label is -sum of the other probabilities", function()
    -- logits (gap, 0, 0, 0): p_u = e^-gap / (1 + 3e^-gap) for u != label
    local e = math.exp(-gap)
    local _, gr = ad.grad(function(p) return ad.sum(ad.cross_entropy(p.x, { 1 })) end, { x = mat.new { { gap, 0, 0, 0 } } })
    local pu = e / (1 + 3 * e)
    local want = { -3 * pu, pu, pu, pu }
    for j = 1, 4 do assert.is_true(math.abs(gr.x[1][j] - want[j]) <= tol * math.abs(want[j]), j) end
    -- the same through log_softmax + pick
    local _, g2 = ad.grad(function(p) return -ad.sum(ad.pick(ad.log_softmax(p.x), { 1 })) end, { x = mat.new { { gap, 0, 0, 0 } } })
    for j = 1, 4 do assert.is_true(math.abs(g2.x[1][j] - want[j]) <= tol * math.abs(want[j]), j) end
  end)

  it("log_mass: value -log1p(Z_out/Z_S) and gradient q_t P_out exact at a gap of 60", function()
    local e = math.exp(-gap)
    local x = mat.new { { gap, gap, 0, 0, 0 } }
    local v, gr = ad.grad(function(p) return ad.sum(ad.log_mass(p.x, mat.new { { 1, 1, 0, 0, 0 } })) end, { x = x })
    -- Z_S = 2, Z_out = 3 e^-gap (relative to the max), P_out = 3e / (2 + 3e), q = 1/2
    local pout = 3 * e / (2 + 3 * e)
    assert.is_true(math.abs(v + 1.5 * e) <= tol * 1.5 * e) -- -log1p(1.5e) = -1.5e (1 + O(e))
    assert.is_true(math.abs(gr.x[1][1] - 0.5 * pout) <= tol * 0.5 * pout)
    assert.is_true(math.abs(gr.x[1][3] + e / (2 + 3 * e)) <= tol * e)
  end)

  it("softmax and attend JVPs are exact at a gap of 60; logsumexp does not overflow", function()
    local e = math.exp(-gap)
    local x = mat.new { { gap, 0, 0 } }
    local gv = mat.new { { 1, 3, -1 } }
    -- f = Σ s_t g_t, df/da_t = s_t (g_t - f): at t = 1, -(s_2 (3 - 1) + s_3 (-1 - 1)) s_1 = 0 up to e^2;
    -- at t = 2: s_2 (3 - f) with f = 1 + O(e)
    for _, build in ipairs {
      function(p) return ad.sum(ad.softmax(p.x):mul(gv)) end,
      function(p) return ad.sum(ad.attend(p.x, gv)) end } do
      local _, gr = ad.grad(build, { x = x })
      local s1, s2 = 1 / (1 + 2 * e), e / (1 + 2 * e)
      local f = s1 + 3 * s2 - s2
      assert.is_true(math.abs(gr.x[1][2] - s2 * (3 - f)) <= tol * s2 * 2)
      assert.is_true(math.abs(gr.x[1][3] - s2 * (-1 - f)) <= tol * s2 * 2)
      local g1 = -s1 * (s2 * (3 - 1) + s2 * (-1 - 1)) -- exactly 0 here
      assert.is_true(math.abs(gr.x[1][1] - g1) <= tol * s2)
    end
    local v = ad.grad(function(p) return ad.sum(ad.logsumexp(p.x)) end, { x = mat.new { { 1000, 999, -1000 } } })
    assert.is_true(math.abs(v - (1000 + math.log(1 + math.exp(-1)))) <= 1e-15 * 1000)
  end)
end)

describe("ad tapes: re-use, aliasing and freeing", function()
  it("an objective re-evaluates after its parameters change in place, and repeatedly", function()
    local W = mat.new { { 1, 2 }, { 3, 4 } }
    local obj = ad.objective(function(p) return ad.sum(p.W:mul(p.W)) end, { W = W })
    assert.are.equal(30, obj:eval())
    W[1][1] = 2
    local L, gr = obj:grad()
    assert.are.equal(33, L)
    assert.are.equal(4, gr.W[1][1])
    for _ = 1, 3 do assert.are.equal(33, (obj:grad())) end
    assert.are.equal(W, obj:params().W)
  end)

  it("a parameter may be a view (a model's W): updates go into the model", function()
    local data, model = require "hardmax.data", require "hardmax.model"
    local ds = data.grand(4, 5, 3, { seed = 2 })
    local m = model.attention { param = "W", v = ds.v }:init { rng = rng.new(4) }
    local ad_models = require "hardmax.ad_models"
    local f = ad_models.attention(ds, {})
    local Wv = m.W -- a view of the model's storage
    local W0 = m.W:clone()
    optim.train(f, { W = Wv }, optim.gd { lr = 1 }, { iters = 3 })
    assert.is_true((m.W - W0):norm() > 0)
  end)

  it("constants are copied at trace time", function()
    local c = mat.new { 1, 2 }
    local obj = ad.objective(function(p) return ad.sum(p.x:mul(c)) end, { x = mat.new { 1, 1 } })
    c[1] = 100
    assert.are.equal(3, obj:eval())
  end)

  it("nodes die with their trace; objectives outlive the function and are collected", function()
    local leaked
    ad.grad(function(p) leaked = p.x; return ad.sum(p.x) end, { x = mat.new { 1 } })
    raises(function() return ad.exp(leaked) end, "ad.exp: argument #1 belongs to a finished trace")
    raises(function() return leaked + 1 end, "belongs to a finished trace")
    raises(function() return ad.const(mat.new { 1 }) end, "no trace in progress")
    local objs = {}
    for i = 1, 50 do objs[i] = ad.objective(function(p) return ad.sum(ad.exp(p.x)) end, { x = mat.zeros(100) }) end
    objs = nil
    collectgarbage(); collectgarbage()
    -- a nested trace inside f restores the outer one
    local L = ad.grad(function(p)
      local inner = ad.grad(function(q) return ad.sum(q.y) end, { y = mat.new { 5 } })
      return ad.sum(p.x) + inner
    end, { x = mat.new { 1 } })
    assert.are.equal(6, L)
  end)

  it("an error inside f leaves no trace in progress", function()
    raises(function() ad.grad(function() error("boom") end, { x = mat.new { 1 } }) end, "boom")
    raises(function() return ad.const(mat.new { 1 }) end, "no trace in progress")
  end)

  it("mat operators defer to nodes (mat * node is a node)", function()
    local X = mat.new { { 1, 2 }, { 3, 4 } }
    local L, gr = ad.grad(function(p) return ad.sum(X * p.v + X:mul(p.v) - X) end, { v = mat.new { 1, 1 } })
    -- rows of X v + X ⊙ v - X are (3, 7) each: L = 20; dL/dv_k = 3 (column sum of X)_k
    assert.are.equal(20, L)
    assert.are.equal(12, gr.v[1])
    assert.are.equal(18, gr.v[2])
  end)
end)

describe("ad errors", function()
  local function inside(fn)
    return function() ad.grad(function(p) fn(p); return ad.sum(p.x) end, { x = mat.zeros(2, 3) }) end
  end
  it("bad shapes are named", function()
    raises(inside(function(p) return p.x + mat.zeros(4) end), "ad.add: shapes 2x3 and 4 do not broadcast")
    raises(inside(function(p) return p.x * mat.zeros(2, 3) end), "ad.matmul: shapes 2x3 and 2x3 do not conform")
    raises(inside(function(p) return ad.bmv(p.x, p.x) end), "ad.bmv: shapes 2x3 and 2x3 do not conform")
    raises(inside(function(p) return ad.bmm(p.x, p.x) end), "ad.bmm: bad argument #1 (rank-3 operand expected)")
    raises(inside(function(p) return ad.reshape(p.x, 4, 2) end), "ad.reshape: cannot reshape 2x3 (6 elements) to 4x2")
    raises(inside(function(p) return ad.sum(p.x, 3) end), "ad.sum: axis 3 out of range for shape 2x3")
    raises(inside(function(p) return ad.slice(p.x, 2, 2, 4) end), "ad.slice: range 2..4 out of 1..3 on axis 2")
    raises(inside(function(p) return ad.gather(p.x, { 3 }) end), "ad.gather: index 3 out of range 1..2")
    raises(inside(function(p) return ad.pick(p.x, { 1 }) end), "ad.pick: 2 indices expected")
    raises(inside(function(p) return ad.pick(p.x, { 1, 0 }) end), "ad.pick: bad argument #2 (entry 2: positive integer index expected)")
    raises(inside(function(p) return ad.log_mass(p.x, mat.zeros(2, 3)) end), "ad.log_mass: mask row 1 selects no position")
    raises(inside(function(p) return ad.log_mass(p.x, mat.full(0.5, 2, 3)) end), "ad.log_mass: mask entries must be 0 or 1")
    raises(inside(function(p) return ad.log_mass(p.x, p.x) end), "ad.log_mass: the mask must be a constant")
    raises(inside(function(p) return ad.cross_entropy(p.x, { 1, 4 }) end), "ad.cross_entropy: bad argument #2 (entry 2: label in 1..3 expected)")
    raises(inside(function(p) return ad.attend(p.x, mat.zeros(3, 3)) end), "ad.attend: logits n x T and values")
    raises(inside(function(p) return ad.transpose(ad.sum(p.x, 1)) end), "ad.transpose: rank-2 or rank-3 operand expected")
    raises(inside(function(p) return p.x / p.x end), "'/' needs a number operand")
    raises(inside(function(p) return ad.exp("a") end), "ad.exp: bad argument #1 (ad node, mat or number expected, got string)")
  end)

  it("bad traces and parameters", function()
    raises(function() ad.grad(function(p) return p.x end, { x = mat.zeros(2) }) end, "the loss must have one element, got shape 2")
    raises(function() ad.grad(function() return 1 end, { x = mat.zeros(2) }) end, "must return an ad node")
    raises(function() ad.grad(function(p) return ad.sum(p.x), 5 end, { x = mat.zeros(2) }) end, "table of output nodes expected")
    raises(function() ad.grad(function(p) return ad.sum(p.x), { W = p.x } end, { x = mat.zeros(2) }) end, "output 'W': square matrix expected")
    raises(function() ad.grad(function(p) return ad.sum(p.x) end, {}) end, "at least one parameter expected")
    raises(function() ad.grad(function(p) return ad.sum(p.x) end, { 1 }) end, "parameter names must be strings")
    raises(function() ad.grad(function(p) return ad.sum(p.x) end, { x = 1 }) end, "parameter 'x': mat expected, got number")
    raises(function() ad.grad(nil, { x = mat.zeros(1) }) end, "ad.grad: bad argument #1 (function expected, got nil)")
    local A = mat.zeros(3, 3)
    raises(function() ad.grad(function(p) return ad.sum(p.a) end, { a = A, b = A[2] }) end, "parameters 'a' and 'b' share storage")
    local x = mat.zeros(2)
    local obj = ad.objective(function(p) return ad.sum(ad.log(p.x)) end, { x = x })
    raises(function() obj:eval() end, "obj:eval: the loss or a gradient is not finite")
    do local y <close> = x end
    raises(function() obj:eval() end, "obj:eval: parameter 'x': its mat was closed")
  end)

  it("optimizers: what does not apply is an error", function()
    local obj = ad.objective(function(p) return ad.sum(p.x:mul(p.x)) end, { x = mat.ones(2) })
    raises(function() optim.train(obj, optim.ngd { lr = 0.1, eps = 1e-9, rescaled = true }, { iters = 1 }) end,
      "rescaled = true is not available for ad objectives")
    raises(function() optim.train(obj, optim.polyak {}, { iters = 1 }) end, "optim.train")
    raises(function() optim.train(obj, mat.zeros(1), optim.gd { lr = 1 }, { iters = 1 }) end, "an ad objective takes no dataset")
    raises(function() optim.train(obj, optim.gd { lr = 1 }, { iters = 1, record = { "softmax_max" } }) end, "needs attention probabilities")
  end)
end)

describe("optimizers on ad objectives", function()
  local quad = function(p) return ad.sum((p.x - mat.new { 1, -2 }):pow(2)) + ad.sum(p.y:pow(2)) end
  it("GD, momentum, Adam and mirror descent minimize a quadratic; recorders and results as for models", function()
    for _, opt in ipairs { optim.gd { lr = 0.25 }, optim.momentum { lr = 0.1, beta = 0.5 }, optim.adam { lr = 0.05 },
      optim.mirror { p = 1.5, lr = 0.05 } } do
      local x, y = mat.new { 0.5, 0.5 }, mat.new { 0.3 }
      local r = optim.train(quad, { x = x, y = y }, opt, { iters = 3000, every = 1000,
        record = { "loss", "grad_norm", "grad_norm_x", "param_norm_y", "x" }, stop = { loss = 1e-20 } })
      assert.is_true(r.final_loss <= 1e-8, tostring(r.final_loss))
      assert.is_true(math.abs(x[1] - 1) <= 1e-4 and math.abs(x[2] + 2) <= 1e-4)
      assert.are.equal(r.loss:shape(), r.steps:shape())
      assert.are.equal(r.x:shape(), r.loss:shape())
    end
  end)

  it("per-tensor NGD normalization: each parameter moves lr per step", function()
    local x, y = mat.new { 10, 10 }, mat.new { 10 }
    local r = optim.train(quad, { x = x, y = y }, optim.ngd { lr = 0.1, eps = { x = 0, y = 0 } },
      { iters = 1, every = 1, record = { "x", "y" } })
    assert.is_true(math.abs((r.x[2] - r.x[1]):norm() - 0.1) <= 1e-15)
    assert.is_true(math.abs((r.y[2] - r.y[1]):norm() - 0.1) <= 1e-15)
  end)

  it("opt:step, callbacks (called with the objective) and regpath", function()
    local x, y = mat.new { 0, 0 }, mat.new { 1 }
    local obj = ad.objective(quad, { x = x, y = y })
    local opt = optim.gd { lr = 0.25 }
    local L0 = opt:step(obj)
    assert.are.equal(6, L0)
    local seen = 0
    optim.train(obj, opt, { iters = 10, every = 5, callback = function(k, o) seen = seen + 1; assert.are.equal(obj, o) end })
    assert.are.equal(3, seen)
    local rp = optim.regpath(obj, { radii = { 0.5, 1 }, params = { "x" } })
    assert.is_true(rp.loss[2] <= rp.loss[1])
  end)

  it("the polyak step runs with an explicit lstar", function()
    local r = optim.train(quad, { x = mat.new { 0, 0 }, y = mat.new { 1 } }, optim.polyak { lstar = 0 }, { iters = 50 })
    assert.is_true(r.final_loss < 1e-6)
  end)
end)

describe("ad under hostile arguments", function()
  it("every function of ad and ad_models and every objective method fails with a named error", function()
    local ad_models = require "hardmax.ad_models"
    local data = require "hardmax.data"
    local state = 4242
    local function rand(k) state = (state * 1103515245 + 12345) % 2147483648; return state % k + 1 end
    local values = { function() return nil end, function() return 0 end, function() return -1 end,
      function() return 0 / 0 end, function() return math.huge end, function() return 2 ^ 62 end,
      function() return "x" end, function() return {} end, function() return { 1, 2, 3 } end,
      function() return { { 1, 2 }, { 3 } } end, function() return { a = 1 } end, function() return true end,
      function() return mat.zeros(0) end, function() return mat.new { 1, 2 } end,
      function() return mat.new { { 1, 2 }, { 3, 4 } } end, function() return mat.zeros(2, 2, 2) end,
      function() return data.grand(2, 3, 2, { seed = 1 }) end, function() return print end,
      function() return function(p) return ad.sum(p.x) end end, function() return { x = mat.zeros(2) } end }
    local unnamed, calls = {}, 0
    local function try(name, f, ...)
      calls = calls + 1
      local ok, e = pcall(f, ...)
      if not ok and not tostring(e):match("^[%w_.]+[.:][%w_]+: ") then unnamed[#unnamed + 1] = name .. ": " .. tostring(e) end
    end
    local obj = ad.objective(function(p) return ad.sum(ad.exp(p.x)), { y = p.x } end, { x = mat.zeros(2) })
    for _ = 1, 6 do
      for _, M in ipairs { ad, ad_models } do
        local names = {}
        for k, f in pairs(M) do if type(f) == "function" then names[#names + 1] = k end end
        table.sort(names)
        for _, k in ipairs(names) do
          for n = 0, 4 do
            local a = {}
            for i = 1, n do a[i] = values[rand(#values)]() end
            try(k, M[k], table.unpack(a, 1, n))
          end
        end
      end
      for _, k in ipairs { "eval", "grad", "value", "params", "gradcheck" } do
        local a = values[rand(#values)]()
        try("obj:" .. k, obj[k], obj, a)
      end
    end
    assert.is_true(calls > 500)
    assert.are.same({}, unnamed)
  end)
end)

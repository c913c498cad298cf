-- optim.train re-entrancy: what a callback may do while a run is in progress (docs/optim.md,
-- "Callbacks and nested runs"). Evaluating the model, training other models (clones, models
-- sharing a custom loss) and resetting the optimizer leave the outer run exactly the run
-- without them; training the same model or stepping the optimizer of an enclosing run is an
-- error, and a failed run releases the model and the optimizer.
require "hardmax"
local data, model, optim, rng, loss = require "hardmax.data", require "hardmax.model",
  require "hardmax.optim", require "hardmax.rng", require "hardmax.loss"

local ds = data.grand(6, 8, 10, { seed = 1 })
local big = data.grand(40, 8, 10, { seed = 2 }) -- larger n: other buffer sizes
local BUSY_MODEL = "the model is already being trained by an enclosing optim.train " ..
  "(called from its callback); train a copy (m:clone()) instead"
local BUSY_OPT = "the optimizer is in use by an enclosing optim.train (called from its " ..
  "callback); give the inner run its own optimizer"

local function fresh(lossf)
  local m = model.attention { v = ds.v, loss = lossf }
  m:init { scheme = "uniform", rng = rng.new(5) }
  return m
end
local RECORD = { "loss", "grad_norm", "softmax_max", "W" }
local function run(m, o, callback)
  return optim.train(m, ds, o, { iters = 9, every = 3, record = RECORD, callback = callback })
end
-- bit-identical runs: every recorded row and the final parameters
local function same_run(r, m, ref, mref)
  for _, k in ipairs(RECORD) do assert.are.same(ref[k]:totable(), r[k]:totable(), k) end
  assert.are.same(ref.steps:totable(), r.steps:totable())
  assert.are.equal(ref.status, r.status)
  assert.are.same(mref.W:totable(), m.W:totable())
end

describe("optim.train callbacks and nested runs", function()
  local mref = fresh()
  local ref = run(mref, optim.adam { lr = 0.05 })

  it("training the same model from its callback is an error; the outer run is unharmed", function()
    local m, msgs = fresh(), {}
    local r = run(m, optim.adam { lr = 0.05 }, function(_, mm)
      for _, f in ipairs {
        function() return optim.train(mm, big, optim.gd { lr = 1 }, { iters = 2, record = { "softmax_max" } }) end,
        function() return optim.gd { lr = 1 }:step(mm, big) end,
        function() return optim.regpath(mm, big, { radii = { 1 }, iters = 5 }) end,
      } do
        local ok, e = pcall(f)
        assert.is_false(ok)
        msgs[#msgs + 1] = e
      end
    end)
    assert.are.same({ "optim.train: " .. BUSY_MODEL, "opt:step: " .. BUSY_MODEL, "optim.regpath: " .. BUSY_MODEL },
      { msgs[1], msgs[2], msgs[3] })
    assert.are.equal(12, #msgs) -- 4 callbacks x 3 refused calls
    same_run(r, m, ref, mref)
  end)

  it("the optimizer of an enclosing run cannot drive another model; opt:reset() is allowed", function()
    local m, o, msg = fresh(), optim.adam { lr = 0.05 }, nil
    local r = run(m, o, function()
      local other = model.attention { param = "KQ", v = ds.v }
      other:init { rng = rng.new(1) }
      local ok, e = pcall(optim.train, other, ds, o, { iters = 1 })
      assert.is_false(ok)
      msg = e
      ok, e = pcall(o.step, o, other, ds)
      assert.are.equal("opt:step: " .. BUSY_OPT, e)
    end)
    assert.are.equal("optim.train: " .. BUSY_OPT, msg)
    assert.are.equal(9, o.t)
    same_run(r, m, ref, mref)
    -- resetting the running optimizer restarts its state: the same as two runs with a reset
    local a, oa = fresh(), optim.adam { lr = 0.05 }
    optim.train(a, ds, oa, { iters = 6, every = 3, callback = function(k) if k == 3 then oa:reset() end end })
    local b, ob = fresh(), optim.adam { lr = 0.05 }
    optim.train(b, ds, ob, { iters = 3 })
    ob:reset()
    optim.train(b, ds, ob, { iters = 3 })
    assert.are.same(b.W:totable(), a.W:totable())
    assert.are.equal(3, oa.t)
  end)

  it("evaluating the model on other data in the callback does not change the run", function()
    local m = fresh()
    local r = run(m, optim.adam { lr = 0.05 }, function(_, mm)
      mm:grad(big)
      mm:grad(big, { rescaled = true })
      mm:loss(big)
      mm:probs(big)
      mm:gradcheck(big)
    end)
    same_run(r, m, ref, mref)
    -- also in the rescaled-direction mode (the per-tensor scales of step k are kept)
    local o = function() return optim.ngd { lr = 0.5, eps = 0, rescaled = true } end
    local a, b = fresh(), fresh()
    local ra = run(a, o())
    local rb = run(b, o(), function(_, mm) mm:grad(big, { rescaled = true }) mm:grad(big) end)
    same_run(rb, b, ra, a)
  end)

  it("training other models in the callback is independent (clones, a shared custom loss, coroutines)", function()
    -- the loss counts the evaluations of the outer run that are made in another thread
    local outer, in_cb, stray = coroutine.running(), false, 0
    local logistic = loss.custom(function(z)
      if not in_cb and coroutine.running() ~= outer then stray = stray + 1 end
      return math.log(1 + math.exp(-z))
    end, function(z) return -1 / (1 + math.exp(z)) end)
    local m0 = fresh(logistic)
    local r0 = run(m0, optim.ngd { lr = 0.2, eps = 1e-12 })
    local m, inner = fresh(logistic), {}
    local r = run(m, optim.ngd { lr = 0.2, eps = 1e-12 }, function(k, mm)
      in_cb = true
      local c = mm:clone() -- shares the custom loss object
      local co = coroutine.wrap(function()
        return optim.train(c, big, optim.gd { lr = 1 }, { iters = 2, record = { "loss" } })
      end)
      inner[#inner + 1] = { k = k, W = mm.W:totable(), r = co() }
      co = nil
      collectgarbage() -- the coroutine that last ran the shared loss is gone
      in_cb = false
    end)
    assert.are.equal(0, stray) -- the outer run calls its loss in its own thread
    same_run(r, m, r0, m0)
    assert.are.equal(4, #inner)
    for _, t in ipairs(inner) do -- each inner run equals the same run made standalone
      local c = model.attention { v = ds.v, loss = logistic, W = t.W }
      local want = optim.train(c, big, optim.gd { lr = 1 }, { iters = 2, record = { "loss" } })
      assert.are.same(want.loss:totable(), t.r.loss:totable())
    end
  end)

  it("an error in the callback propagates and releases the model and the optimizer", function()
    local m, o = fresh(), optim.adam { lr = 0.05 }
    assert.has_error(function() run(m, o, function() error("boom", 0) end) end, "boom")
    local ok, e = pcall(run, m, o, function(_, mm) optim.train(mm, ds, optim.gd { lr = 1 }, { iters = 1 }) end)
    assert.is_false(ok)
    assert.are.equal("optim.train: " .. BUSY_MODEL, e)
    o:reset()
    local r = run(m, o) -- both usable again
    assert.are.equal("ok", r.status)
    assert.are.equal(1, o:step(m, ds) > 0 and 1 or 0)
  end)
end)

-- Work that optim.train reuses between steps (the linear head's token scores X v, cached
-- while the run's dataset is fixed; the recorders' attention probabilities, taken from the
-- step's own evaluation) must not change any result: runs whose head vector changes from a
-- callback, runs on a second dataset, and the recorders agree bit for bit with runs that
-- recompute everything.
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"
local mat = require "hardmax.mat"

local function same(a, b)
  local ta, tb = a:totable(), b:totable()
  for i = 1, #ta do
    for j = 1, #ta[i] do
      if ta[i][j] ~= tb[i][j] then return false, ("[%d][%d]: %a vs %a"):format(i, j, ta[i][j], tb[i][j]) end
    end
  end
  return true
end

local ds = data.grand(5, 6, 4, { seed = 7 })
local ds2 = data.grand(5, 6, 4, { seed = 8 })
local v2 = mat.new { 0.5, -0.25, 1.0, 0.125 }

local function fresh(param)
  return model.attention { param = param, v = ds.v }:init { rng = rng.new(3) }
end

describe("steps reuse only what cannot change", function()
  for _, param in ipairs { "W", "KQ" } do
    it(param .. ": a head vector assigned from a callback is used from the next step on", function()
      local m1 = fresh(param)
      optim.train(m1, ds, optim.ngd { lr = 0.2, eps = 1e-12 }, { iters = 40, every = 1,
        callback = function(k, m) if k == 20 then m.v = v2 end end })
      -- reference: the same 40 updates in two runs (a new run recomputes everything)
      local m2 = fresh(param)
      optim.train(m2, ds, optim.ngd { lr = 0.2, eps = 1e-12 }, { iters = 21, every = 21 })
      m2.v = v2
      optim.train(m2, ds, optim.ngd { lr = 0.2, eps = 1e-12 }, { iters = 19, every = 19 })
      assert.is_true(same(m1:effective_w(), m2:effective_w()))
      -- and not the run that keeps the old head vector
      local m3 = fresh(param)
      optim.train(m3, ds, optim.ngd { lr = 0.2, eps = 1e-12 }, { iters = 40, every = 40 })
      assert.is_false(same(m1:effective_w(), m3:effective_w()))
    end)

    it(param .. ": an in-place write to the head vector's view is seen by the next step", function()
      local m1 = fresh(param)
      optim.train(m1, ds, optim.gd { lr = 0.5 }, { iters = 30, every = 1,
        callback = function(k, m) if k == 10 then local v = m.v; v[2] = -v[2] end end })
      local m2 = fresh(param)
      optim.train(m2, ds, optim.gd { lr = 0.5 }, { iters = 11, every = 11 })
      local v = m2.v
      v[2] = -v[2]
      optim.train(m2, ds, optim.gd { lr = 0.5 }, { iters = 19, every = 19 })
      assert.is_true(same(m1:effective_w(), m2:effective_w()))
    end)

    it(param .. ": a run on another dataset does not reuse the previous run's scores", function()
      local m1 = fresh(param)
      optim.train(m1, ds, optim.gd { lr = 0.5 }, { iters = 10, every = 10 })
      local m2 = m1:clone() -- same state, nothing cached
      local r1 = optim.train(m1, ds2, optim.gd { lr = 0.5 }, { iters = 10, every = 1, record = { "loss", "softmax_max" } })
      local r2 = optim.train(m2, ds2, optim.gd { lr = 0.5 }, { iters = 10, every = 1, record = { "loss", "softmax_max" } })
      assert.is_true(same(m1:effective_w(), m2:effective_w()))
      for k = 1, 11 do
        assert.are.equal(r2.loss[k], r1.loss[k])
        assert.are.equal(r2.softmax_max[k], r1.softmax_max[k])
      end
    end)

    it(param .. ": recorded softmax_max and loss equal the model's own values at each step", function()
      local m = fresh(param)
      local mr = fresh(param)
      local r = optim.train(m, ds, optim.ngd { lr = 0.3, eps = 1e-12 }, { iters = 12, every = 3, record = { "loss", "softmax_max" } })
      for row = 1, 5 do
        local S = mr:probs(ds):totable()
        local s = 0
        for i = 1, #S do
          local mx = -math.huge
          for t = 1, #S[i] do mx = math.max(mx, S[i][t]) end
          s = s + mx
        end
        assert.are.equal(s / #S, r.softmax_max[row])
        assert.are.equal(mr:loss(ds), r.loss[row])
        if row < 5 then optim.train(mr, ds, optim.ngd { lr = 0.3, eps = 1e-12 }, { iters = 3, every = 3 }) end
      end
    end)
  end
end)

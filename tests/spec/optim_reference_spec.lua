-- optim.gd / optim.ngd trajectories against an independent textbook implementation in plain
-- Lua (nested tables, no hardmax arithmetic): f_i = v^T X_i^T softmax(X_i W z_i), logistic
-- mean loss, dL/dW = (1/n) sum_i l'(Y_i f_i) Y_i sum_t s_it (g_it - f_i) x_it z_i^T.
-- Kept to unsaturated steps, where the textbook formula is still accurate (theory.md D.5).
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"

local function dot(x, y)
  local s = 0
  for i = 1, #x do s = s + x[i] * y[i] end
  return s
end

-- softmax rows s[i][t], outputs f[i] and token scores g[i][t] = v^T x_it at W
local function forward(D, W)
  local S, F, G = {}, {}, {}
  for i = 1, #D.X do
    local Wz = {}
    for a = 1, #W do Wz[a] = dot(W[a], D.Z[i]) end
    local logit, mx = {}, -math.huge
    for t = 1, #D.X[i] do logit[t] = dot(D.X[i][t], Wz); mx = math.max(mx, logit[t]) end
    local s, tot, f, g = {}, 0, 0, {}
    for t = 1, #D.X[i] do s[t] = math.exp(logit[t] - mx); tot = tot + s[t] end
    for t = 1, #D.X[i] do s[t] = s[t] / tot; g[t] = dot(D.v, D.X[i][t]); f = f + s[t] * g[t] end
    S[i], F[i], G[i] = s, f, g
  end
  return S, F, G
end

local function gradient(D, W)
  local S, F, G = forward(D, W)
  local n, d, grad = #D.X, #W, {}
  for a = 1, d do grad[a] = {} for b = 1, d do grad[a][b] = 0 end end
  for i = 1, n do
    local lp = -1 / (1 + math.exp(D.Y[i] * F[i]))   -- logistic l'(m)
    for t = 1, #D.X[i] do
      local c = lp * D.Y[i] * S[i][t] * (G[i][t] - F[i]) / n
      for a = 1, d do
        local xa = c * D.X[i][t][a]
        for b = 1, d do grad[a][b] = grad[a][b] + xa * D.Z[i][b] end
      end
    end
  end
  return grad
end

local function train(D, lr, normalized, iters)
  local d, W = #D.v, {}
  for a = 1, d do W[a] = {} for b = 1, d do W[a][b] = 0 end end
  for _ = 1, iters do
    local g, nrm = gradient(D, W), 0
    for a = 1, d do for b = 1, d do nrm = nrm + g[a][b] ^ 2 end end
    local scale = normalized and lr / math.sqrt(nrm) or lr
    for a = 1, d do for b = 1, d do W[a][b] = W[a][b] - scale * g[a][b] end end
  end
  return W
end

describe("optim against a plain-Lua reference", function()
  local ds = data.grand(6, 8, 10, {seed = 7})
  local D = {X = ds.X:totable(), Y = ds.Y:totable(), Z = ds.Z:totable(), v = ds.v:totable()}

  for _, case in ipairs{{"gd", optim.gd{lr = 1}, 1, false}, {"ngd", optim.ngd{lr = 0.1, eps = 0}, 0.1, true}} do
    it(case[1] .. ": 300 steps from W = 0 agree entrywise, and so do the attention probabilities", function()
      local m = model.attention{v = ds.v}
      local r = optim.train(m, ds, case[2], {iters = 300})
      assert.are.equal("ok", r.status)
      local W, ref, worst = m.W:totable(), train(D, case[3], case[4], 300), 0
      local scale = 0
      for a = 1, #W do for b = 1, #W do scale = math.max(scale, math.abs(ref[a][b])) end end
      for a = 1, #W do for b = 1, #W do worst = math.max(worst, math.abs(W[a][b] - ref[a][b])) end end
      assert.is_true(scale > 1, "the run moved: max |W| = " .. scale)
      assert.is_true(worst <= 1e-10 * scale, ("max |W - W_ref| = %g (max |W| %g)"):format(worst, scale))
      local P, S = m:probs(ds):totable(), forward(D, ref)
      for i = 1, #P do for t = 1, #P[i] do assert.is_true(math.abs(P[i][t] - S[i][t]) <= 1e-10) end end
    end)
  end
end)

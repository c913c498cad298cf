-- hardmax.ad_models — attention models written with ad (docs/ad_models.md): the built-in
-- one-layer W / (K,Q) model re-expressed (checked against model.attention to 1e-12), H-head
-- attention and two-layer attention. Each constructor returns (f, params): the loss function
-- for ad.grad / ad.objective / optim.train and a table of fresh parameter mats.
--
--   local f, params = ad_models.attention(ds, {param = "KQ"})
--   local r = optim.train(f, params, optim.ngd{lr = 0.1}, {iters = 2000, record = {"W"}})
local mat = require "hardmax.mat"
local ad = require "hardmax.ad"
local util = require "hardmax.util"

local M = {}

local fail = util.fail

local LOSSES = { logistic = ad.logistic, exponential = ad.exponential }

local function loss_of(fn, name)
  local l = LOSSES[name or "logistic"]
  if not l then fail(fn, "option 'loss': 'logistic' or 'exponential' expected, got %s", tostring(name)) end
  return l
end

-- the queries z_i (n x d): ds.Z (cross attention) or token q of every sample (self)
local function queries(fn, ds, query)
  local X = ds.X
  local n, T = X:shape()
  if query == nil or query == "cross" then
    if not ds.Z then fail(fn, "query 'cross' needs a dataset with Z") end
    return ds.Z
  end
  local q = query == "self" and 1 or query
  if math.type(q) ~= "integer" or q < 1 or q > T then
    fail(fn, "option 'query': 'cross', 'self' or a token index in 1..%d expected, got %s", T, tostring(query))
  end
  local Z = mat.zeros(n, select(3, X:shape()))
  for i = 1, n do Z[i]:copy_(X[i][q]) end
  return Z
end

local function param_mat(fn, given, r, c)
  if given == nil then return mat.zeros(r, c) end
  if getmetatable(given) ~= getmetatable(mat.zeros(1)) then given = mat.new(given) end
  local gr, gc = given:shape()
  if gr ~= r or gc ~= c then fail(fn, "parameter of shape %dx%d expected, got %s", r, c, table.concat({ given:shape() }, "x")) end
  return given:clone()
end

-- attention weights of one layer, W or (K,Q): probabilities s (n x T) of queries Zq (n x d
-- node or mat) over keys X (n x T x d)
-- logits a_it = x_itᵀ W z_i of queries Zq (n x d node or mat) over keys X (n x T x d).
-- (For (K,Q) the product W = K Qᵀ is formed first, as the built-in model does: with n > d
-- that is the cheaper order, and the effective W is an output anyway.)
local function logits(X, Zq, W)
  return ad.bmv(X, ad.matmul(Zq, W:t()))
end

--- The built-in one-layer model (model.attention, theory.md A.2 M2/M3) with ad:
--- a_it = x_itᵀ W z_i (W = K Qᵀ), s_i = softmax(a_i), f_i = vᵀ X_iᵀ s_i,
--- L = (1/n) Σ ℓ(Y_i f_i) + ridge (‖K‖² + ‖Q‖²). Options: param ("W" | "KQ"), m, query,
--- v (default ds.v), loss, ridge (KQ), W / K / Q (initial values, default zeros).
function M.attention(ds, o)
  local fn = "ad_models.attention"
  o = util.check_options(fn, o, { "param", "m", "query", "v", "loss", "ridge", "W", "K", "Q" }, 2)
  local X, Y = ds.X, ds.Y
  local d = select(3, X:shape())
  local v = o.v or ds.v
  if not v then fail(fn, "a linear head v is needed (option v or ds.v)") end
  local Z = queries(fn, ds, o.query)
  local lossf = loss_of(fn, o.loss)
  local param = o.param or "W"
  local ridge = o.ridge or 0
  if param ~= "W" and param ~= "KQ" then fail(fn, "option 'param': 'W' or 'KQ' expected, got %s", tostring(param)) end
  if ridge ~= 0 and param ~= "KQ" then fail(fn, "option 'ridge' applies to param = 'KQ' only") end
  local params
  if param == "W" then
    params = { W = param_mat(fn, o.W, d, d) }
  else
    local m = o.m or d
    params = { K = param_mat(fn, o.K, d, m), Q = param_mat(fn, o.Q, d, m) }
  end
  local g = X * v -- token scores x_itᵀ v (n x T), a constant
  local function f(p)
    local W = p.W or p.K * p.Q:t()
    local a = logits(X, Z, W)
    local L = ad.mean(lossf(ad.attend(a, g):mul(Y)))  -- f_i = Σ_t softmax(a_i)_t x_itᵀ v
    if ridge ~= 0 then L = L + ridge * (ad.sum(p.K:mul(p.K)) + ad.sum(p.Q:mul(p.Q))) end
    return L, { probs = ad.softmax(a), W = W } -- evaluated only when recorded
  end
  return f, params
end

return M

-- hardmax.ad_models — attention models written with ad (docs/ad_models.md): the built-in
-- one-layer W / (K,Q) model re-expressed (checked against model.attention), H-head
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

-- a dataset (userdata or table) with a rank-3 X and labels Y
local function check_ds(fn, ds)
  local ok, X = pcall(function() return ds.X end)
  if not ok or util.typename(X) ~= "hardmax.mat" or select("#", X:shape()) ~= 3 or ds.Y == nil then
    fail(fn, "bad argument #1 (dataset with X (n x T x d) and Y expected, got %s)", util.typename(ds))
  end
end

-- per-sample arrays: `t[i]` (and `t[i][k]` for k = 1..T when T is given) for i = 1..n
local function check_rows(fn, argn, t, n, T)
  local ok = pcall(function()
    for i = 1, n do
      local r = t[i]
      if T then for k = 1, T do assert(type(r[k]) == "number") end else assert(r ~= nil) end
    end
  end)
  if not ok then fail(fn, "bad argument #%d (%d rows%s expected)", argn, n, T and (" of " .. T .. " numbers") or "") end
end

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
  check_ds(fn, ds)
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

-- the head vectors: an H x d mat (one row per head), or nil (every head uses v)
local function head_vectors(fn, o, H, d, v)
  if o.heads == nil then
    if not v then fail(fn, "a linear head v is needed (option v or ds.v)") end
    local Vh = mat.zeros(H, d)
    for h = 1, H do Vh[h]:copy_(v) end
    return Vh
  end
  local Vh = param_mat(fn, o.heads, H, d)
  return Vh
end

--- H-head attention (docs/ad_models.md): head h has its own W_h (parameter "W<h>", or
--- "K<h>", "Q<h>" with W_h = K_h Q_hᵀ for param = "KQ"), logits
--- a^h_it = x_itᵀ W_h z_i, probabilities s^h_i = softmax(a^h_i) and head vector u_h; the heads
--- are concatenated into a linear head [u_1; ...; u_H]: f_i = Σ_h u_hᵀ X_iᵀ s^h_i,
--- L = (1/n) Σ_i ℓ(Y_i f_i). Options: H (>= 1), heads (H x d head vectors; default every
--- u_h = v: the summed heads), v (default ds.v), query, loss, param ("W" | "KQ"), m (KQ
--- inner dimension, default d), W (a list of H initial W_h; W only).
--- Outputs (obj:value): "logits<h>" (n x T), "probs<h>", "W<h>" for KQ; "probs" is head 1's.
function M.multihead(ds, o)
  local fn = "ad_models.multihead"
  check_ds(fn, ds)
  o = util.check_options(fn, o, { "H", "heads", "v", "query", "loss", "W", "param", "m" }, 2)
  local X, Y = ds.X, ds.Y
  local d = select(3, X:shape())
  local H = o.H
  if math.type(H) ~= "integer" or H < 1 then fail(fn, "option 'H': integer >= 1 expected, got %s", tostring(H)) end
  local Vh = head_vectors(fn, o, H, d, o.v or ds.v)
  local Z = queries(fn, ds, o.query)
  local lossf = loss_of(fn, o.loss)
  local kq = o.param == "KQ"
  if o.param ~= nil and o.param ~= "W" and not kq then fail(fn, "option 'param': 'W' or 'KQ' expected, got %s", tostring(o.param)) end
  if o.W ~= nil and (kq or type(o.W) ~= "table" or #o.W ~= H) then fail(fn, "option 'W': a list of %d matrices expected (param W)", H) end
  local params, G = {}, {}
  for h = 1, H do
    if kq then
      params["K" .. h], params["Q" .. h] = mat.zeros(d, o.m or d), mat.zeros(d, o.m or d)
    else
      params["W" .. h] = param_mat(fn, o.W and o.W[h], d, d)
    end
    G[h] = X * Vh[h] -- head h's token scores u_hᵀ x_it (n x T)
  end
  local function f(p)
    local out, f_sum = {}, nil
    for h = 1, H do
      local W = kq and p["K" .. h] * p["Q" .. h]:t() or p["W" .. h]
      if kq then out["W" .. h] = W end
      local a = logits(X, Z, W)
      local fh = ad.attend(a, G[h])
      f_sum = f_sum and f_sum + fh or fh
      out["logits" .. h], out["probs" .. h] = a, ad.softmax(a)
    end
    out.probs = out.probs1
    return ad.mean(lossf(f_sum:mul(Y))), out
  end
  return f, params
end

--- Two-layer attention (docs/ad_models.md). Layer 1 is full self-attention with W_1
--- (parameter "W1"): logits A_i[k,t] = x_itᵀ W_1 x_ik, S_i = rowsoftmax(A_i), outputs
--- H_i = S_i X_i (T x d). Layer 2 attends from the query z_i over the rows of H_i with W_2
--- ("W2"): b_it = h_itᵀ W_2 z_i, σ_i = softmax(b_i), f_i = vᵀ H_iᵀ σ_i, L = (1/n) Σ ℓ(Y_i f_i).
--- Options: v (default ds.v), query (layer 2's: "cross" default, "self", index), loss, W1, W2.
--- Outputs: "logits1" (n x T x T), "probs1", "H" (n x T x d), "logits2" (n x T), "probs" (σ).
function M.two_layer(ds, o)
  local fn = "ad_models.two_layer"
  check_ds(fn, ds)
  o = util.check_options(fn, o, { "v", "query", "loss", "W1", "W2" }, 2)
  local X, Y = ds.X, ds.Y
  local d = select(3, X:shape())
  local v = o.v or ds.v
  if not v then fail(fn, "a linear head v is needed (option v or ds.v)") end
  local Z = queries(fn, ds, o.query)
  local lossf = loss_of(fn, o.loss)
  local params = { W1 = param_mat(fn, o.W1, d, d), W2 = param_mat(fn, o.W2, d, d) }
  local Xt = X:transpose() -- n x d x T (a constant of the trace)
  local function f(p)
    local A = ad.bmm(X * p.W1:t(), Xt)          -- A_i = X_i W_1ᵀ X_iᵀ: A_i[k,t] = x_itᵀ W_1 x_ik
    local S = ad.softmax(A, 3)
    local Hm = ad.bmm(S, X)                       -- h_ik = Σ_t S_i[k,t] x_it
    local b = logits(Hm, Z, p.W2)
    local L = ad.mean(lossf(ad.attend(b, Hm * v):mul(Y)))
    return L, { logits1 = A, probs1 = S, H = Hm, logits2 = b, probs = ad.softmax(b) }
  end
  return f, params
end

--- The selection of a logits output: argmax over the last axis (first maximum), as a Lua
--- array of n indices (n x T logits) or of n arrays of T indices (n x T x T).
function M.selected(logits)
  local rank = select("#", logits:shape())
  if rank < 2 then fail("ad_models.selected", "bad argument #1 (n x T or n x T x T logits expected)") end
  return logits:argmax(rank):totable()
end

--- The Att-SVM problem of an attention layer whose keys come in identical groups (a layer
--- over the outputs of a saturated layer: rows that attend to the same token coincide and
--- cannot be separated). X: n x T x d keys, group[i][t]: a label per key (e.g. the token
--- the row attends to), sel[i]: the selected key. Returns a dataset table {X =, Z =} with one
--- key per group (the first of the group; padded to the largest group count by repeating a
--- non-selected key, which only duplicates a constraint), the selection of the selected key's
--- group, and the list of kept samples (a sample whose keys form one group constrains
--- nothing and is left out). Z (n x d) is subset along with the samples.
function M.grouped_keys(X, Z, group, sel)
  local n, T, d = X:shape()
  if select("#", X:shape()) ~= 3 then fail("ad_models.grouped_keys", "bad argument #1 (n x T x d keys expected)") end
  if select("#", Z:shape()) ~= 2 or Z:shape() ~= n then fail("ad_models.grouped_keys", "bad argument #2 (n x d queries expected)") end
  check_rows("ad_models.grouped_keys", 3, group, n, T)
  check_rows("ad_models.grouped_keys", 4, sel, n)
  local reps, kept = {}, {}
  local width = 2
  for i = 1, n do
    local seen, list, selpos = {}, {}, nil
    for t = 1, T do
      local gname = group[i][t]
      if not seen[gname] then
        seen[gname] = #list + 1
        list[#list + 1] = t
      end
      if t == sel[i] then selpos = seen[gname] end
    end
    if #list >= 2 then
      reps[#reps + 1] = { i = i, list = list, sel = selpos }
      kept[#kept + 1] = i
      width = math.max(width, #list)
    end
  end
  if #reps == 0 then return nil end
  local Xr, Zr, alpha = mat.zeros(#reps, width, d), mat.zeros(#reps, d), {}
  for r, e in ipairs(reps) do
    local pad = e.list[e.sel == 1 and 2 or 1]
    for j = 1, width do Xr[r][j]:copy_(X[e.i][e.list[j] or pad]) end
    Zr[r]:copy_(Z[e.i])
    alpha[r] = e.sel
  end
  return { X = Xr, Z = Zr }, alpha, kept
end

--- The SAtt-SVM (theory.md C.5) of a self-attention layer restricted to some query positions:
--- one Att-SVM sample per position (i, k) with weight[i][k] > thr (e.g. the positions a
--- second layer reads), keys X_i, query x_ik, selection sel[i][k]. Returns {X =, Z =}, alpha
--- for svm.att, and the number of positions (nil when none passes).
function M.positions_problem(X, sel, weight, thr)
  local n, T, d = X:shape()
  if select("#", X:shape()) ~= 3 then fail("ad_models.positions_problem", "bad argument #1 (n x T x d keys expected)") end
  check_rows("ad_models.positions_problem", 2, sel, n, T)
  check_rows("ad_models.positions_problem", 3, weight, n, T)
  local pos = {}
  for i = 1, n do for k = 1, T do if weight[i][k] > thr then pos[#pos + 1] = { i, k } end end end
  if #pos == 0 then return nil end
  local Xp, Zp, alpha = mat.zeros(#pos, T, d), mat.zeros(#pos, d), {}
  for j, ik in ipairs(pos) do
    Xp[j]:copy_(X[ik[1]])
    Zp[j]:copy_(X[ik[1]][ik[2]])
    alpha[j] = sel[ik[1]][ik[2]]
  end
  return { X = Xp, Z = Zp }, alpha, #pos
end

util.check_signatures(M, "ad_models", {
  selected = { "m" },
  grouped_keys = { "m", "m", "t", "list" }, positions_problem = { "m", "t", "list", "n" } })

return M

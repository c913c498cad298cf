-- hardmax.report — the last mile of an experiment script: curve statistics over runs,
-- correlation paths, named pass/fail checks, and the machine-readable final line.
--
--   local R = report.new("SVM-F3")
--   local band = report.band(results, "softmax_W")      -- elementwise mean/std over runs
--   R:check("corr_W_fro >= 0.99", mean >= 0.99)
--   R:finish{corr_W_fro_mean = mean}                    -- prints summary + one JSON line
--
-- See docs/report.md.
local json = require "hardmax.json"

local M = {}
local fmt, mtype = string.format, math.type

local util = require "hardmax.util"

local typename = util.typename

local fail = util.fail

local function tolist(v)
  if type(v) == "table" then return v end
  if type(v) == "userdata" and v.totable then return v:totable() end
  return nil
end

--- Elementwise statistics of an array-valued metric over the successful runs of a sweep
--- result list: returns {mean=, std=, n=, len=, final=} (Lua arrays; std is the sample std, 0
--- for a single run; final = the last mean). Every run must have the same length.
function M.band(results, key)
  local fn = "report.band"
  if type(results) ~= "table" then fail(fn, "bad argument #1 (sweep results expected, got %s)", type(results)) end
  if type(key) ~= "string" then fail(fn, "bad argument #2 (metric name expected, got %s)", type(key)) end
  local rows = {}
  for _, r in ipairs(results) do
    local m = r.metrics and r.metrics[key]
    if r.status == "ok" then
      local l = tolist(m)
      if not l then fail(fn, "run %s has no array metric '%s'", tostring(r.key), key) end
      rows[#rows + 1] = l
    end
  end
  if #rows == 0 then fail(fn, "no successful run has metric '%s'", key) end
  local len = #rows[1]
  for i, l in ipairs(rows) do
    if #l ~= len then fail(fn, "metric '%s': run %d has length %d, run 1 has %d", key, i, #l, len) end
  end
  local mean, std = util.column_mean_std(rows)
  return { mean = mean, std = std, n = #rows, len = len, final = mean[len] }
end

--- report.band for several metrics at once: {key = band, ...}.
function M.bands(results, keys)
  local out = {}
  for _, k in ipairs(keys) do out[k] = M.band(results, k) end
  return out
end

--- Last value of a band's mean (the final iterate's mean over runs).
function M.final(band)
  if type(band.mean) ~= "table" then fail("report.final", "bad argument #1 (a band from report.band expected)") end
  return band.mean[#band.mean]
end

--- Draw mean ± std bands on a plot.figure: labels[i] names keys[i] (default: the key).
function M.plot_bands(fig, steps, bands, keys, labels)
  for i, k in ipairs(keys) do
    local b = bands[k] or fail("report.plot_bands", "no band '%s'", tostring(k))
    fig:mean_std(steps, b.mean, b.std, {label = labels and labels[i] or k})
  end
  return fig
end

--- Mean, std and count of a scalar metric over successful runs (NaN-free values only).
function M.stats(results, key)
  local vals = {}
  for _, r in ipairs(results) do
    local v = r.status == "ok" and r.metrics and r.metrics[key]
    if type(v) == "number" and v == v then vals[#vals + 1] = v end
  end
  local n = #vals
  if n == 0 then return { mean = 0 / 0, std = 0 / 0, n = 0, min = 0 / 0, max = 0 / 0 } end
  -- two passes: sum(v^2) - n mu^2 cancels badly for metrics near 1 with a tiny spread
  local s, ss, lo, hi = 0.0, 0.0, math.huge, -math.huge
  for _, v in ipairs(vals) do s, lo, hi = s + v, math.min(lo, v), math.max(hi, v) end
  local mu = s / n
  for _, v in ipairs(vals) do ss = ss + (v - mu) ^ 2 end
  return { mean = mu, std = n > 1 and math.sqrt(ss / (n - 1)) or 0.0, n = n, min = lo, max = hi }
end

--- {key = report.stats(results, key).mean} for several scalar metrics (merged into `into`).
function M.means(results, keys, into)
  into = into or {}
  for _, k in ipairs(keys) do
    if type(k) ~= "string" then fail("report.means", "bad argument #2 (list of metric names expected, got a %s entry)", type(k)) end
    into[k] = M.stats(results, k).mean
  end
  return into
end

--- The successful results whose metrics satisfy pred (a function of the metrics table, or a
--- metric name: the runs where that metric is truthy), in result order.
function M.filter(results, pred)
  if type(pred) == "string" then
    local key = pred
    pred = function(m) return m[key] end
  end
  local out = {}
  for _, r in ipairs(results) do
    if type(r) == "table" and r.status == "ok" and pred(r.metrics) then out[#out + 1] = r end
  end
  return out
end

--- Fraction of successful runs for which pred(metrics) is true; pred may also be a metric
--- name (the fraction of runs where that metric is truthy).
function M.fraction(results, pred)
  local n = #M.filter(results, function() return true end)
  return n > 0 and #M.filter(results, pred) / n or 0 / 0
end

--- corr(S[k], target) for every slice k of a rank-3 stack of snapshots (Frobenius cosine).
function M.corr_path(stack, target)
  local mat = require "hardmax.mat"
  if stack:ndim() < 2 then fail("report.corr_path", "bad argument #1 (stack of snapshots expected: rows of vectors or a rank-3 stack of matrices, got a vector)") end
  local n = stack:shape()
  local out = {}
  for k = 1, n do
    local s = stack[k]
    -- a zero snapshot (e.g. the W = 0 start) has no direction: NaN, not an error
    if s:norm(math.huge) == 0 then out[k] = 0 / 0 else out[k] = mat.corr(s, target) end
  end
  return out
end

--- Value of an array at the recorded step closest to `step` (steps: the train result's
--- step indices, as a mat or Lua array).
function M.at(steps, values, step)
  local s = tolist(steps)
  local best, bi = math.huge, 1
  for i, v in ipairs(s) do
    if type(v) ~= "number" then fail("report.at", "bad argument #1 (array of step numbers expected, entry %d is %s)", i, type(v)) end
    if math.abs(v - step) < best then best, bi = math.abs(v - step), i end
  end
  return values[bi]
end

--- First recorded step at which values[i] >= threshold (nil if never).
function M.first_reaching(steps, values, threshold)
  local s = tolist(steps)
  for i, v in ipairs(tolist(values)) do
    if type(v) ~= "number" then fail("report.first_reaching", "bad argument #2 (array of numbers expected, entry %d is %s)", i, typename(v)) end
    if v >= threshold then return s[i] end
  end
  return nil
end

--- true when two selections (Lua arrays of token indices) are identical.
function M.same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

--- exp.sweep with the conventions of the example scripts: `o` is the table returned by
--- exp.args (runs, seed, jobs, shard, resume, out). Trials are kept in o.out/sweep; a run
--- without --resume starts fresh (stale trial files of an earlier run are removed), with
--- --resume it continues where an interrupted run stopped. `extra` may add grid=.
function M.sweep(o, run, extra)
  local exp = require "hardmax.exp"
  local spec = {runs = o.runs, seed = o.seed, jobs = o.jobs, resume = o.resume, fresh = true,
                out = o.out .. "/sweep", run = run, shard = (o.shard and o.shard ~= "") and o.shard or nil}
  for k, v in pairs(extra or {}) do spec[k] = v end
  return exp.sweep(spec)
end

-- every entry of the array `v` (argument #k of fn) must be a number
local function numbers(fn, v, k)
  for i = 1, #v do
    if type(v[i]) ~= "number" then fail(fn, "bad argument #%d (array of numbers expected, entry %d is %s)", k, i, typename(v[i])) end
  end
end

--- Spearman rank correlation of two equally long arrays (ties get their average rank).
--- Monotone transforms (e.g. log) do not change it.
function M.spearman(x, y)
  local fn = "report.spearman"
  x, y = tolist(x), tolist(y)
  if not x or not y or #x ~= #y then fail(fn, "two arrays of equal length expected") end
  numbers(fn, x, 1); numbers(fn, y, 2)
  if #x < 2 then return 0 / 0 end
  local function ranks(v)
    local idx = {}
    for i = 1, #v do idx[i] = i end
    table.sort(idx, function(a, b) return v[a] < v[b] end)
    local r, i = {}, 1
    while i <= #idx do
      local j = i
      while j < #idx and v[idx[j + 1]] == v[idx[i]] do j = j + 1 end
      for k = i, j do r[idx[k]] = (i + j) / 2 end
      i = j + 1
    end
    return r
  end
  local rx, ry = ranks(x), ranks(y)
  local n, mx, my = #x, 0, 0
  for i = 1, n do mx, my = mx + rx[i], my + ry[i] end
  mx, my = mx / n, my / n
  local sxy, sxx, syy = 0, 0, 0
  for i = 1, n do
    sxy = sxy + (rx[i] - mx) * (ry[i] - my)
    sxx, syy = sxx + (rx[i] - mx) ^ 2, syy + (ry[i] - my) ^ 2
  end
  return sxy / math.sqrt(sxx * syy)
end

local Report = {}
Report.__index = Report

--- A report for one experiment: named checks and final numbers.
function M.new(experiment)
  if type(experiment) ~= "string" then fail("report.new", "bad argument #1 (experiment id expected, got %s)", type(experiment)) end
  return setmetatable({ experiment = experiment, checks = {}, order = {}, t0 = os.clock() }, Report)
end

--- Record a named pass criterion; `detail` (optional) is printed next to it.
function Report:check(name, ok, detail)
  if type(name) ~= "string" then fail("report:check", "bad argument #1 (check name expected, got %s)", type(name)) end
  if self.checks[name] == nil then self.order[#self.order + 1] = name end
  self.checks[name] = ok and true or false
  print(fmt("  [%s] %s%s", ok and "pass" or "FAIL", name, detail and ("  (" .. detail .. ")") or ""))
  return ok
end

--- check(name .. " >= threshold", value >= threshold) with the value shown.
--- A question beyond what is proven, with its measured answer: recorded under `hypotheses`
--- in the JSON line and printed as holds / rejected, but unlike a check it does not decide
--- pass (a study that measures "no" has still run correctly; docs/report.md).
function Report:hypothesis(name, holds, detail)
  if type(name) ~= "string" then fail("report:hypothesis", "bad argument #1 (hypothesis name expected, got %s)", type(name)) end
  self.hypotheses = self.hypotheses or {}
  self.hypotheses[name] = holds and true or false
  print(fmt("  [%s] %s%s", holds and "holds" or "rejected", name, detail and ("  (" .. detail .. ")") or ""))
  return holds
end

function Report:at_least(name, value, threshold)
  return self:check(fmt("%s >= %g", name, threshold), value >= threshold, fmt("%.6g", value))
end

--- check(name .. " <= threshold", value <= threshold) with the value shown.
function Report:at_most(name, value, threshold)
  return self:check(fmt("%s <= %g", name, threshold), value <= threshold, fmt("%.6g", value))
end

--- A path that should converge to a predicted limit and not to an alternative, e.g. the
--- cosine of θ(R) with the predicted / the other SVM along a regularization path. Checks
---   "<name>: cos with the <target> >= <threshold> at <at>"    (last value of `cos`)
--- and, when opts.alt (the cosine path with the alternative) is given and opts.distinct is not
--- false (pass false when the two limits are nearly parallel and cannot be told apart),
---   "<name>: cos with the <alt_target> < <threshold> and below"  (last alt < threshold and
---   < last cos).
--- opts: threshold = 0.99, target = "predicted SVM", alt_target = "wrong SVM", at = "the end",
--- note (appended to the printed detail). Returns the first check's result.
function Report:converges(name, cos, opts)
  opts = opts or {}
  local c = tolist(cos)
  if type(name) ~= "string" or not c or #c == 0 then
    fail("report:converges", "bad arguments (check name and a non-empty cos path expected, got %s, %s)", type(name), type(cos))
  end
  local thr, last, alt = opts.threshold or 0.99, c[#c], opts.alt and tolist(opts.alt)
  local alt_target = opts.alt_target or "wrong SVM"
  local ok = self:check(fmt("%s: cos with the %s >= %g at %s", name, opts.target or "predicted SVM", thr, opts.at or "the end"),
    last >= thr, fmt("%.4f", last) .. (alt and fmt(", %s %.4f", alt_target, alt[#alt]) or "") .. (opts.note or ""))
  if alt and opts.distinct ~= false then
    self:check(fmt("%s: cos with the %s < %g and below", name, alt_target, thr), alt[#alt] < thr and alt[#alt] < last)
  end
  return ok
end

-- result.json next to the figure: the JSON line without its CPU times (the only numbers that
-- change between runs) and with the numeric platform that produced it, so two result files
-- compare byte for byte (docs/report.md).
local function write_result_file(figure, out)
  local dir = figure:match("^(.*)/[^/]*$") or "."
  local rec = {}
  for k, v in pairs(out) do
    if k ~= "cpu_seconds" and k ~= "cpu_seconds_process" then rec[k] = v end
  end
  rec.figure = figure:match("[^/]*$") -- relative to the file: results moved elsewhere compare equal
  local ok, h = pcall(require, "hardmax")
  local c = ok and h.config() or {}
  rec.numerics = {mode = c.mode, blas_core = c.openblas_core, libm = c.libm, glibc = c.glibc, threads = c.threads}
  require("hardmax.sys").write_atomic(dir .. "/result.json", json.encode(rec, {indent = "  "}) .. "\n")
end

--- Print the overall verdict and, as the last line of output, one JSON object with the
--- experiment id, pass flag, the checks and the given numbers. Returns the object.
function Report:finish(numbers)
  local out = { experiment = self.experiment, checks = self.checks, hypotheses = self.hypotheses }
  local pass = true
  for _, k in ipairs(self.order) do pass = pass and self.checks[k] end
  out.pass = pass
  -- the script is the experiment: its own CPU time plus that of its sweep workers
  -- the experiment's compute: this process and its sweep workers (not gnuplot, whose cost
  -- varies, e.g. its first run on a machine builds the font cache)
  out.cpu_seconds_process = os.clock()
  out.cpu_seconds = out.cpu_seconds_process + require("hardmax.exp").worker_cpu_seconds()
  if numbers and numbers.figure then print("figure: " .. tostring(numbers.figure)) end
  for k, v in pairs(numbers or {}) do
    if out[k] ~= nil then fail("report:finish", "number '%s' clashes with a reserved key", k) end
    out[k] = tolist(v) or v
  end
  local nh, held = 0, 0
  for _, h in pairs(self.hypotheses or {}) do nh, held = nh + 1, held + (h and 1 or 0) end
  print(fmt("%s: %s (%d checks%s, %.2f s cpu)", self.experiment, pass and "PASS" or "FAIL", #self.order,
    nh > 0 and fmt("; %d hypotheses, %d hold", nh, held) or "", out.cpu_seconds))
  if type(numbers and numbers.figure) == "string" then write_result_file(numbers.figure, out) end
  io.stdout:write(json.encode(out), "\n")
  io.stdout:flush()
  return out
end

-- ---- helpers of the FR/MD scripts (repro-frmd) ----------------------------------------

--- Memoize f(alpha) on the selection (a Lua array of token indices, or a table of such
--- arrays): the SVM of each distinct selection is solved once along a trajectory.
function M.memo(f)
  local cache = {}
  local function key(a)
    if type(a) ~= "table" then return tostring(a) end
    local parts = {}
    for i, x in ipairs(a) do parts[i] = key(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return function(a)
    local k = key(a)
    if cache[k] == nil then cache[k] = f(a) end
    return cache[k]
  end
end

--- Least-squares slope of y against x over the points with from <= x <= to; `log` = "x",
--- "y" or "xy" takes logarithms first (points with a non-positive logged value are skipped).
--- Returns slope, number of points used (NaN when fewer than 2).
function M.slope(x, y, opts)
  opts = opts or {}
  x, y = tolist(x), tolist(y)
  numbers("report.slope", x, 1); numbers("report.slope", y, 2)
  local lx, ly = (opts.log or ""):find("x"), (opts.log or ""):find("y")
  local lo, hi = opts.from or -math.huge, opts.to or math.huge
  local sx, sy, sxx, sxy, n = 0, 0, 0, 0, 0
  for i = 1, math.min(#x, #y) do
    local a, b = x[i], y[i]
    if a >= lo and a <= hi and a == a and b == b and not (lx and a <= 0) and not (ly and b <= 0) then
      a, b = lx and math.log(a) or a, ly and math.log(b) or b
      sx, sy, sxx, sxy, n = sx + a, sy + b, sxx + a * a, sxy + a * b, n + 1
    end
  end
  if n < 2 then return 0 / 0, n end
  return (n * sxy - sx * sy) / (n * sxx - sx * sx), n
end

--- Pad every array field `keys` of a train result that stopped early (status not "ok", e.g.
--- an exact gradient underflow) to `len` rows by repeating its last row: the iterate no
--- longer moves. Returns the number of rows added.
function M.pad(r, keys, len)
  local added = 0
  for _, k in ipairs(keys) do
    local l = tolist(r[k])
    added = len - #l
    for i = #l + 1, len do l[i] = l[#l] end
    r[k] = l
  end
  return added
end

--- values at the recorded steps closest to each of `ks` (a Lua array, see report.at).
function M.at_steps(steps, values, ks)
  local out = {}
  for i, k in ipairs(ks) do out[i] = M.at(steps, values, k) end
  return out
end

--- Local optimality of a selection (theory.md §B.2) from a solved Att-SVM: `s` is the result
--- of svm.prompt / svm.att for `alpha` (its per-sample `support` lists the support tokens),
--- `scores` the n×T token scores (ds:scores()). True iff the SVM is feasible and in every
--- sample the selected token beats each of its support tokens strictly.
function M.locally_optimal(s, alpha, scores)
  if type(s) ~= "table" or type(s.status) ~= "string" then
    fail("report.locally_optimal", "bad argument #1 (SVM result expected, got %s)", type(s))
  end
  if s.status == "infeasible" then return false end
  local g = tolist(scores)
  for i, toks in ipairs(s.support) do
    for _, t in ipairs(toks) do
      if not (g[i][alpha[i]] > g[i][t]) then return false end
    end
  end
  return true
end

--- The first k rows of the first two columns of an r×c snapshot array (e.g. a recorded
--- trajectory of p): an k×2 mat for fig:trajectory.
function M.xy(rows, k)
  local n = rows:shape()
  return rows:slice(1, 1, math.min(k or n, n)):slice(2, 1, 2)
end

--- The indices 1..n that are not in `list` (e.g. the samples that are not support vectors of
--- the head SVM: the rows to relax in the relaxed Att-SVM, theory.md §B.4).
function M.complement(n, list)
  local inl, out = {}, {}
  for _, i in ipairs(list) do inl[i] = true end
  for i = 1, n do if not inl[i] then out[#out + 1] = i end end
  return out
end

--- Log-spaced grid from a to b (inclusive) with `per` points per decade: a Lua array, e.g. the
--- radii of a regularization path (optim.regpath).
function M.log_grid(a, b, per)
  if not (type(a) == "number" and type(b) == "number" and a > 0 and b >= a) then
    fail("report.log_grid", "bad arguments (0 < a <= b expected, got %s, %s)", tostring(a), tostring(b))
  end
  per = per or 10
  if b == a then return {a} end
  local n = math.max(1, math.ceil(per * math.log(b / a, 10) - 1e-9))
  local out = {}
  for k = 0, n do out[k + 1] = a * (b / a) ^ (k / n) end
  return out
end

-- ---- generic helpers that keep the example scripts short ------------------------------

--- The numbers in a string, in order: "4,6,8" -> {4, 6, 8}, "5x10" -> {5, 10}, "1e3,2.5" ->
--- {1000, 2.5} (e.g. a list option of exp.args, or a grid cell name).
function M.numbers(s)
  if type(s) ~= "string" then fail("report.numbers", "bad argument #1 (string expected, got %s)", type(s)) end
  local out = {}
  for tok in s:gmatch("[%d%.eE%+%-]+") do out[#out + 1] = tok end
  for i, tok in ipairs(out) do
    local v = tonumber(tok) or fail("report.numbers", "malformed number '%s' in '%s'", tok, s)
    out[i] = math.tointeger(v) or v
  end
  return out
end

--- {f(x[1], 1), ..., f(x[n], n)} for a Lua array, or for the slices of a mat along its first
--- dimension (entries of a vector, rows of a matrix, snapshots of a rank-3 stack).
function M.map(x, f)
  if type(f) ~= "function" then fail("report.map", "bad argument #2 (function expected, got %s)", type(f)) end
  local n
  if type(x) == "table" then n = #x
  elseif type(x) == "userdata" and x.shape then n = x:shape()
  else fail("report.map", "bad argument #1 (Lua array or mat expected, got %s)", type(x)) end
  local out = {}
  for k = 1, n do out[k] = f(x[k], k) end
  return out
end

--- Number of entries of a Lua array or vector mat for which pred(v) is true.
function M.count(x, pred)
  local k = 0
  for _, v in ipairs(M.map(x, function(v) return v end)) do if pred(v) then k = k + 1 end end
  return k
end

--- The 1-based positions i of a Lua array or vector whose entry satisfies pred(x[i], i).
function M.indices(x, pred)
  local out = {}
  for i, v in ipairs(M.map(x, function(v) return v end)) do if pred(v, i) then out[#out + 1] = i end end
  return out
end

--- Means of consecutive blocks of `size` entries (a trailing partial block is left out):
--- e.g. the statistic of every batch of 10 runs.
function M.block_means(x, size)
  if mtype(size) ~= "integer" or size < 1 then
    fail("report.block_means", "bad argument #2 (positive integer block size expected, got %s)", tostring(size))
  end
  local v, out = M.map(x, function(e) return e end), {}
  for b = 1, #v // size do
    local sum = 0
    for i = (b - 1) * size + 1, b * size do sum = sum + v[i] end
    out[b] = sum / size
  end
  return out
end

--- The sweep results whose grid parameters equal every entry of `params`, in result order
--- (e.g. the runs of one grid cell: report.where(res, {cell = "5x5", d = 4})).
function M.where(results, params)
  if type(results) ~= "table" or type(params) ~= "table" then
    fail("report.where", "bad arguments (sweep results and a parameter table expected, got %s, %s)", type(results), type(params))
  end
  local out = {}
  for _, r in ipairs(results) do
    local ok = type(r) == "table" and type(r.params) == "table"
    for k, v in pairs(params) do ok = ok and r.params[k] == v end
    if ok then out[#out + 1] = r end
  end
  return out
end

--- Per-instance values: metrics[key] of every successful run, in result order (false and NaN
--- kept). With a list of keys: {key = values} (merged into `into` when given). Without a
--- key: the metrics tables of the successful runs.
function M.collect(results, key, into)
  if type(results) ~= "table" then fail("report.collect", "bad argument #1 (sweep results expected, got %s)", type(results)) end
  if key == nil then
    local out = {}
    for _, r in ipairs(results) do if r.status == "ok" then out[#out + 1] = r.metrics end end
    return out
  end
  if type(key) == "table" then
    into = into or {}
    for _, k in ipairs(key) do into[k] = M.collect(results, k) end
    return into
  end
  local out = {}
  for _, r in ipairs(results) do
    if r.status == "ok" then out[#out + 1] = r.metrics[key] end
  end
  return out
end

--- Wrap a Lua array of metric tables as successful sweep results, for report.band / stats /
--- fraction on runs that were not made by report.sweep.
function M.results(list)
  local out = {}
  for i, m in ipairs(list) do out[i] = {status = "ok", key = tostring(i), metrics = m} end
  return out
end

--- All names prefix .. sep .. suffix (sep default "_"), prefix-major:
--- names({"GD", "NGD"}, {"loss", "corr"}) = {"GD_loss", "GD_corr", "NGD_loss", "NGD_corr"}.
function M.names(prefixes, suffixes, sep)
  local out = {}
  for _, a in ipairs(prefixes) do
    for _, b in ipairs(suffixes) do out[#out + 1] = a .. (sep or "_") .. b end
  end
  return out
end

--- {key = report.at_steps(steps, bands[key].mean, ks)} for every band (merged into `into`).
function M.bands_at(bands, steps, ks, into)
  into = into or {}
  for k, b in pairs(bands) do
    if type(b) ~= "table" or b.mean == nil then fail("report.bands_at", "bad argument #1 (table of bands expected; entry '%s' is not a band)", tostring(k)) end
    into[k] = M.at_steps(steps, b.mean, ks)
  end
  return into
end

--- One line per metric on a plot.figure: the mean of bands[keys[i]] against steps, labelled
--- opts.labels[i] (default the key); opts.map(v) transforms each plotted value, opts.styles[i]
--- adds line options (dash=, color=, ...). `fig` may also be a table of plot.figure
--- options: a new figure is made from it. Returns the figure.
function M.plot_lines(fig, steps, bands, keys, opts)
  opts = opts or {}
  if type(fig) == "table" and type(fig.line) ~= "function" then fig = require("hardmax.plot").figure(fig) end
  for i, k in ipairs(keys) do
    local b = bands[k] or fail("report.plot_lines", "no band '%s'", tostring(k))
    local lo = {label = opts.labels and opts.labels[i] or k}
    for kk, v in pairs(opts.styles and opts.styles[i] or {}) do lo[kk] = v end
    fig:line(steps, opts.map and M.map(b.mean, opts.map) or b.mean, lo)
  end
  return fig
end

--- true iff values never grow (values[k] <= values[k-1] * (1 + rtol)) over the consecutive
--- pairs whose earlier step is >= `from` (opts: from = -inf, rtol = 0; NaN never violates).
--- With strict = true every such pair must decrease strictly (values[k] < values[k-1]; NaN
--- violates). steps may be nil (then the positions 1, 2, ...).
function M.nonincreasing(steps, values, opts)
  opts = opts or {}
  local s, from, rtol = steps and tolist(steps), opts.from or -math.huge, opts.rtol or 0
  for k = 1, #values do
    if type(values[k]) ~= "number" then fail("report.nonincreasing", "bad argument #2 (array of numbers expected, entry %d is %s)", k, type(values[k])) end
  end
  for k = 2, #values do
    if (s and s[k - 1] or k - 1) >= from then
      if opts.strict and not (values[k] < values[k - 1]) then return false end
      if values[k] > values[k - 1] * (1 + rtol) then return false end
    end
  end
  return true
end

--- The integers a, a + step, ..., up to b (a Lua array; step defaults to 1), e.g. the recorded
--- steps 0, every, ..., iters of optim.train.
function M.range(a, b, step)
  step = step or 1
  if math.type(a) ~= "integer" or math.type(b) ~= "integer" or math.type(step) ~= "integer" or step == 0 then
    fail("report.range", "bad arguments (integers a, b and a non-zero integer step expected, got %s, %s, %s)", tostring(a), tostring(b), tostring(step))
  end
  local out = {}
  for k = a, b, step do out[#out + 1] = k end
  return out
end

--- Rejection sampling of instances: calls f(1), f(2), ... until `n` calls have returned a
--- non-nil value or `max_tries` calls were made. Returns the accepted values (in order) and
--- the number of calls made.
function M.accept(n, max_tries, f)
  if type(f) ~= "function" then fail("report.accept", "bad argument #3 (function expected, got %s)", type(f)) end
  local out, tries = {}, 0
  while #out < n and tries < max_tries do
    tries = tries + 1
    local v = f(tries)
    if v ~= nil then out[#out + 1] = v end
  end
  return out, tries
end

--- `r` (a result with a status, e.g. of optim.train) when r.status == "ok", else an error
--- "<what>: <status>" (just the status without `what`).
function M.ok(r, what)
  if type(r) ~= "table" or type(r.status) ~= "string" then
    fail("report.ok", "bad argument #1 (result with a status expected, got %s)", type(r))
  end
  if r.status ~= "ok" then error(what and (what .. ": " .. r.status) or r.status, 2) end
  return r
end

--- true iff pred(v) holds for every entry of a Lua array or vector (vacuously for none).
function M.all(x, pred)
  return M.count(x, pred) == #M.map(x, function(v) return v end)
end

--- Copy entries into dst under prefixed names: dst[prefix .. k] = src[k] for k in `keys`
--- (default: every key of src). Returns dst.
function M.put(dst, prefix, src, keys)
  if type(dst) ~= "table" or type(prefix) ~= "string" or type(src) ~= "table" then
    fail("report.put", "bad arguments (table, prefix string, table expected, got %s, %s, %s)", type(dst), type(prefix), type(src))
  end
  if keys then
    for _, k in ipairs(keys) do dst[prefix .. k] = src[k] end
  else
    for k, v in pairs(src) do dst[prefix .. k] = v end
  end
  return dst
end

--- `s` (an SVM result) when s.status == "optimal", else an error "<what> is <status>".
function M.optimal(s, what)
  if type(s) ~= "table" or type(s.status) ~= "string" then
    fail("report.optimal", "bad argument #1 (SVM result expected, got %s)", type(s))
  end
  if s.status ~= "optimal" then error((what or "SVM") .. " is " .. s.status, 2) end
  return s
end

--- The step at which values[] last changed (values compared with ~=; steps[1] if never).
function M.last_change(steps, values)
  local ch = M.changes(steps, values)
  return ch[#ch] or tolist(steps)[1]
end

--- The steps at which `values` changed (values[k] ~= values[k-1]), in order.
function M.changes(steps, values)
  local s, out = tolist(steps), {}
  for k = 2, #values do if values[k] ~= values[k - 1] then out[#out + 1] = s[k] end end
  return out
end

-- Argument types of every public function (util.check_signatures): a wrong call reads
-- "report.at: bad argument #2 (array expected, got nil)" instead of a line of report.lua.
local SIGNATURES = {
  band = { "t", "s" }, bands = { "t", "t" }, final = { "t" }, plot_bands = { "t", "list", "t", "t", "t?" },
  stats = { "t", "s" }, means = { "t", "t", "t?" }, filter = { "t", "f|s" }, fraction = { "t", "f|s" }, corr_path = { "m", "list" },
  at = { "list", "list", "n" }, first_reaching = { "list", "list", "n" }, same = { "list", "list" },
  sweep = { "t", "f", "t?" }, spearman = { "list", "list" }, new = { "s" }, memo = { "f" },
  slope = { "list", "list", "t?" }, pad = { "t", "t", "i" }, at_steps = { "list", "list", "list" },
  locally_optimal = { "t", "list", "list" }, xy = { "m", "i?" }, complement = { "i", "list" },
  log_grid = { "n", "n", "n?" }, numbers = { "s" }, map = { "list", "f" }, count = { "list", "f" },
  indices = { "list", "f" }, block_means = { "list", "i" }, where = { "t", "t" },
  collect = { "t", "s|t?", "t?" }, results = { "t" }, names = { "t", "t", "s?" },
  bands_at = { "t", "list", "list", "t?" }, plot_lines = { "t", "list", "t", "t", "t?" },
  nonincreasing = { "list?", "list", "t?" }, range = { "i", "i", "i?" }, accept = { "i", "i", "f" },
  ok = { "t", "s?" }, all = { "list", "f" }, put = { "t", "s", "t", "t?" }, optimal = { "t", "s?" },
  last_change = { "list", "list" }, changes = { "list", "list" },
}
util.check_signatures(M, "report", SIGNATURES)

return M

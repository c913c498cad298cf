-- hardmax.exp_summary — statistics of sweep results (per grid point: summary, curves,
-- quantiles, printed tables) and the JSON/CSV writers; re-exported by hardmax.exp.
-- See docs/exp.md.
local sys = require "hardmax.sys"
local json = require "hardmax.json"
local trial = require "hardmax.trial"
local util = require "hardmax.util"
local fail, check_options = util.fail, util.check_options
local fmt, concat, mtype = string.format, table.concat, math.type

local M = {}

-- summaries --------------------------------------------------------------------------------
local function quantile(sorted, q)
  local n = #sorted
  if n == 0 then return 0 / 0 end
  local h = (n - 1) * q + 1
  local lo = math.floor(h)
  local hi = math.min(lo + 1, n)
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo])
end
M.quantile = function(values, q)
  if not (q >= 0 and q <= 1) then fail("exp.quantile", "bad argument #2 (probability in [0, 1] expected, got %s)", tostring(q)) end
  local s = {}
  for i, v in ipairs(values) do
    if type(v) ~= "number" then fail("exp.quantile", "bad argument #1 (array of numbers expected, entry %d is %s)", i, util.typename(v)) end
    s[i] = v
  end
  table.sort(s)
  return quantile(s, q)
end

--- Per grid point and scalar metric: n, mean, std (sample), min, quantiles, max, plus the
--- number of failed trials and of non-finite values (left out of the statistics).
function M.summary(results, opts)
  local fn = "exp.summary"
  opts = check_options(fn, opts, { "quantiles" }, 2)
  local qs = opts.quantiles or { 0.25, 0.5, 0.75 }
  if type(results) ~= "table" then fail(fn, "bad argument #1 (results expected, got %s)", type(results)) end
  local groups, order = {}, {}
  for i, t in ipairs(results) do
    if type(t) ~= "table" or type(t.params) ~= "table" then
      fail(fn, "bad argument #1 (sweep results expected; entry %d is not a trial record)", i)
    end
    local pkey = trial.key(t.params, 0)
    local g = groups[pkey]
    if not g then
      g = { params = t.params, metrics = {}, failed = 0, trials = 0, first = t }
      groups[pkey] = g
      order[#order + 1] = g
    end
    g.trials = g.trials + 1
    if t.status ~= "ok" then
      g.failed = g.failed + 1
    else
      for name, v in pairs(t.metrics or {}) do
        if type(v) == "number" then
          local m = g.metrics[name] or { values = {}, nonfinite = 0 }
          g.metrics[name] = m
          if v == v and v ~= math.huge and v ~= -math.huge then
            m.values[#m.values + 1] = v
          else
            m.nonfinite = m.nonfinite + 1
          end
        end
      end
    end
  end
  table.sort(order, function(a, b) return trial.less(a.first, b.first) end)
  local rows = {}
  for _, g in ipairs(order) do
    local names = {}
    for k in pairs(g.metrics) do names[#names + 1] = k end
    table.sort(names)
    for _, name in ipairs(names) do
      local vals = g.metrics[name].values
      table.sort(vals)
      local n, sum = #vals, 0
      for _, v in ipairs(vals) do sum = sum + v end
      local mean = n > 0 and sum / n or 0 / 0
      local ss = 0
      for _, v in ipairs(vals) do ss = ss + (v - mean) ^ 2 end
      local row = {
        params = g.params, metric = name, n = n, trials = g.trials, failed = g.failed,
        nonfinite = g.metrics[name].nonfinite, mean = mean,
        std = n > 1 and math.sqrt(ss / (n - 1)) or (n == 1 and 0.0 or 0 / 0),
        min = n > 0 and vals[1] or 0 / 0, max = n > 0 and vals[n] or 0 / 0, quantiles = {},
      }
      for i, q in ipairs(qs) do row.quantiles[i] = { q = q, value = quantile(vals, q) } end
      rows[#rows + 1] = row
    end
  end
  return rows
end

--- Element-wise mean and sample std of an array-valued metric (e.g. a loss curve) per grid
--- point: rows {params, n, mean = {...}, std = {...}} sorted like the merge. Arrays of
--- different lengths are an error; failed trials are skipped.
function M.curves(results, metric)
  local fn = "exp.curves"
  if type(results) ~= "table" then fail(fn, "bad argument #1 (results expected, got %s)", type(results)) end
  if type(metric) ~= "string" then fail(fn, "bad argument #2 (metric name expected, got %s)", type(metric)) end
  local groups, order = {}, {}
  for _, t in ipairs(results) do
    if t.status == "ok" then
      local v = t.metrics and t.metrics[metric]
      if type(v) ~= "table" then fail(fn, "trial %s: metric '%s' is not an array (got %s)", t.key, metric, type(v)) end
      local pkey = trial.key(t.params, 0)
      local g = groups[pkey]
      if not g then
        g = { params = t.params, curves = {}, first = t }
        groups[pkey] = g
        order[#order + 1] = g
      end
      if #g.curves > 0 and #v ~= #g.curves[1] then
        fail(fn, "trial %s: metric '%s' has length %d, other runs %d", t.key, metric, #v, #g.curves[1])
      end
      g.curves[#g.curves + 1] = v
    end
  end
  table.sort(order, function(a, b) return trial.less(a.first, b.first) end)
  local rows = {}
  for _, g in ipairs(order) do
    local mean, std = util.column_mean_std(g.curves)
    rows[#rows + 1] = { params = g.params, n = #g.curves, mean = mean, std = std }
  end
  return rows
end

local function g6(x)
  if type(x) ~= "number" then return tostring(x) end
  if mtype(x) == "integer" then return fmt("%d", x) end
  return fmt("%.6g", x)
end

--- Print a summary (from exp.summary) as an aligned table.
function M.print_summary(rows, opts)
  opts = check_options("exp.print_summary", opts, { "file" }, 2)
  local f = opts.file or io.stdout
  local header = { "params", "metric", "n", "mean", "std", "min" }
  local qs = rows[1] and rows[1].quantiles or {}
  for _, q in ipairs(qs) do header[#header + 1] = fmt("q%g", q.q * 100) end
  header[#header + 1] = "max"
  header[#header + 1] = "failed"
  local lines = { header }
  for _, r in ipairs(rows) do
    local p = {}
    local names = {}
    for k in pairs(r.params) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do p[#p + 1] = k .. "=" .. tostring(r.params[k]) end
    local line = { concat(p, " "), r.metric, g6(r.n), g6(r.mean), g6(r.std), g6(r.min) }
    for _, q in ipairs(r.quantiles) do line[#line + 1] = g6(q.value) end
    line[#line + 1] = g6(r.max)
    line[#line + 1] = g6(r.failed)
    lines[#lines + 1] = line
  end
  local w = {}
  for _, l in ipairs(lines) do
    for i, c in ipairs(l) do w[i] = math.max(w[i] or 0, #c) end
  end
  for _, l in ipairs(lines) do
    local cells = {}
    for i, c in ipairs(l) do
      cells[i] = i <= 2 and (c .. (" "):rep(w[i] - #c)) or ((" "):rep(w[i] - #c) .. c)
    end
    f:write(concat(cells, "  "), "\n")
  end
end

-- writers -----------------------------------------------------------------------------------
--- Write a value as JSON (sorted keys, %.17g numbers) atomically.
function M.write_json(path, value, opts)
  opts = check_options("exp.write_json", opts, { "pretty" }, 3)
  if type(path) ~= "string" then fail("exp.write_json", "bad argument #1 (path expected, got %s)", type(path)) end
  local ok, s = pcall(json.encode, value, opts.pretty and { indent = "  " } or nil)
  if not ok then fail("exp.write_json", "%s", s) end
  sys.write_atomic(path, s .. "\n")
end

local function csv_cell(v)
  if v == nil then return "" end
  local s
  if type(v) == "number" then
    s = json.number(v)
  elseif type(v) == "boolean" then
    s = tostring(v)
  elseif type(v) == "string" then
    s = v
  else
    error(("exp.write_csv: cells must be numbers, strings or booleans, got %s"):format(type(v)), 0)
  end
  if s:find('[,"\r\n]') or s:match("^%s") or s:match("%s$") then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- Write rows (array of tables) as CSV (RFC 4180) atomically. opts.columns fixes the order;
--- by default the sorted union of the rows' keys. Nested tables (e.g. params) are flattened
--- as "params.name".
function M.write_csv(path, rows, opts)
  local fn = "exp.write_csv"
  opts = check_options(fn, opts, { "columns" }, 3)
  if type(path) ~= "string" then fail(fn, "bad argument #1 (path expected, got %s)", type(path)) end
  if type(rows) ~= "table" then fail(fn, "bad argument #2 (array of rows expected, got %s)", type(rows)) end
  local flat = {}
  local cols, seen = {}, {}
  for i, r in ipairs(rows) do
    if type(r) ~= "table" then fail(fn, "row %d: table expected, got %s", i, type(r)) end
    local f = {}
    local function put(prefix, t)
      for k, v in pairs(t) do
        local name = prefix .. tostring(k)
        if type(v) == "table" then put(name .. ".", v) else
          f[name] = v
          if not seen[name] then seen[name] = true; cols[#cols + 1] = name end
        end
      end
    end
    put("", r)
    flat[i] = f
  end
  table.sort(cols)
  cols = opts.columns or cols
  local out = { concat((function() local h = {} for i, c in ipairs(cols) do h[i] = csv_cell(c) end return h end)(), ",") }
  for _, f in ipairs(flat) do
    local cells = {}
    for i, c in ipairs(cols) do
      local ok, s = pcall(csv_cell, f[c])
      if not ok then fail(fn, "column '%s': %s", c, s) end
      cells[i] = s
    end
    out[#out + 1] = concat(cells, ",")
  end
  sys.write_atomic(path, concat(out, "\r\n") .. "\r\n")
end

util.check_signatures(M, "exp", { quantile = { "t", "n" } })
return M

-- hardmax.util — argument checking shared by the Lua-side library (plot, exp, report).
local M = {}

--- Raise "fn: message" (message formatted with the extra arguments), without position info.
function M.fail(fn, msg, ...)
  error(fn .. ": " .. msg:format(...), 0)
end

--- Check a trailing options table: nil gives {}, a non-table is a bad argument #argn, and a
--- key not in `allowed` is an error listing the valid names (a typo must never silently
--- change an experiment). Deterministic: the first unknown key in sorted order is reported.
function M.check_options(fn, opts, allowed, argn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    M.fail(fn, "bad argument #%d (options table expected, got %s)", argn or 1, type(opts))
  end
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  local bad = {}
  for k in pairs(opts) do
    if not set[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad > 0 then
    table.sort(bad)
    local names = {}
    for _, k in ipairs(allowed) do names[#names + 1] = k end
    table.sort(names)
    M.fail(fn, "unknown option '%s' (valid options: %s)", bad[1], table.concat(names, ", "))
  end
  return opts
end

--- Elementwise mean and sample standard deviation (0 for one row) of equally long arrays:
--- the statistics of curves over runs (exp.curves, report.band). Returns mean, std.
function M.column_mean_std(rows)
  local n, mean, std = #rows, {}, {}
  for j = 1, #rows[1] do
    local sum = 0.0
    for _, r in ipairs(rows) do sum = sum + r[j] end
    local mu = sum / n
    local ss = 0.0
    for _, r in ipairs(rows) do ss = ss + (r[j] - mu) ^ 2 end
    mean[j], std[j] = mu, n > 1 and math.sqrt(ss / (n - 1)) or 0.0
  end
  return mean, std
end

return M

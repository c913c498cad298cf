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

-- Argument types of public Lua functions ------------------------------------------------
-- util.check_signatures(M, prefix, {name = {kind, ...}}) wraps M[name] so that a call with a
-- wrong argument type raises "prefix.name: bad argument #k (array expected, got nil)" instead
-- of a runtime error on some line of the library. Kinds: list = Lua array or mat; m = mat;
-- t = table; s = string; n = number; i = integer (an integral float is accepted); f =
-- function; "a|b" = either; a trailing "?" = may be nil. Only types are checked: contents
-- remain the function's business.
local KIND_NAMES = { list = "array", m = "mat", t = "table", s = "string", n = "number", i = "integer", f = "function" }

local function is_mat(v) return type(v) == "userdata" and (getmetatable(v) or {}).__name == "hardmax.mat" end

local function is_kind(v, k)
  if k == "list" then return type(v) == "table" or is_mat(v)
  elseif k == "m" then return is_mat(v)
  elseif k == "t" then return type(v) == "table"
  elseif k == "s" then return type(v) == "string"
  elseif k == "n" then return type(v) == "number"
  elseif k == "i" then return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v) and v - v == 0)
  elseif k == "f" then return type(v) == "function"
  end
  error("util.check_signatures: unknown kind '" .. tostring(k) .. "'")
end

--- The type name of a value, with hardmax object names ("hardmax.mat", ...).
function M.typename(v)
  if type(v) == "userdata" or type(v) == "table" then
    local mt = getmetatable(v)
    if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  end
  return type(v)
end

function M.check_signatures(mod, prefix, signatures)
  for name, sig in pairs(signatures) do
    local f, fn = assert(mod[name], name), prefix .. "." .. name
    local specs = {}   -- parsed once: {optional, kind, kind, ...} per argument
    for k, spec in ipairs(sig) do
      local optional = spec:sub(-1) == "?"
      local p = { optional }
      for kind in (optional and spec:sub(1, -2) or spec):gmatch("[^|]+") do
        assert(KIND_NAMES[kind], kind)
        p[#p + 1] = kind
      end
      specs[k] = p
    end
    mod[name] = function(...)
      for k = 1, #specs do
        local p, v = specs[k], (select(k, ...))
        if not (p[1] and v == nil) then
          local good = false
          for j = 2, #p do if is_kind(v, p[j]) then good = true break end end
          if not good then
            local want = {}
            for j = 2, #p do want[#want + 1] = KIND_NAMES[p[j]] end
            M.fail(fn, "bad argument #%d (%s expected, got %s)", k, table.concat(want, " or "), M.typename(v))
          end
        end
      end
      return f(...)
    end
  end
  return mod
end

return M

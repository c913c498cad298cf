-- hardmax.trial — canonical trial keys and the total order on trials used by exp (sweeps,
-- merges, summaries): independent of grid order, shard count and completion order.
-- See docs/exp.md.
local M = {}
local fmt, concat, mtype = string.format, table.concat, math.type

-- canonical trial keys ------------------------------------------------------------------
function M.keyval(v)
  local tv = type(v)
  if tv == "number" then
    if mtype(v) == "integer" then return fmt("%d", v) end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return fmt("%d", math.tointeger(v)) end
    return fmt("%.17g", v)
  elseif tv == "string" then
    return (v:gsub("[%%;=%c]", function(c) return fmt("%%%02X", c:byte()) end))
  elseif tv == "boolean" then
    return tostring(v)
  end
end

--- The canonical key of a trial: "name=value;...;run=R" with names sorted bytewise.
function M.key(params, run)
  local names = {}
  for k in pairs(params) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do
    local v = M.keyval(params[k])
    if type(k) ~= "string" or not v then
      error(fmt("trial.key: bad argument #1 (parameter %s: a name with a number, string or boolean value expected, got %s)",
        tostring(k), type(params[k])), 0)
    end
    parts[#parts + 1] = k .. "=" .. v
  end
  parts[#parts + 1] = "run=" .. fmt("%d", run)
  return concat(parts, ";")
end

-- total order on trials: by parameters (names sorted; numbers numerically, then strings,
-- then booleans) and then by run. Independent of grid order, shard count and completion order.
local rank = { number = 1, string = 2, boolean = 3 }
local function cmpval(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (rank[ta] or 9) < (rank[tb] or 9) and -1 or 1 end
  if ta == "boolean" then a, b = a and 1 or 0, b and 1 or 0 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function trial_less(x, y)
  if type(x.params) ~= "table" or type(y.params) ~= "table" then
    error("trial.less: bad arguments (two trial records {params=, run=, key=} expected)", 0)
  end
  local names = {}
  for k in pairs(x.params) do names[#names + 1] = k end
  for k in pairs(y.params) do if x.params[k] == nil then names[#names + 1] = k end end
  table.sort(names)
  for _, k in ipairs(names) do
    local c = cmpval(x.params[k], y.params[k])
    if c ~= 0 then return c < 0 end
  end
  if x.run ~= y.run then return x.run < y.run end
  return x.key < y.key
end
M.less = trial_less

require("hardmax.util").check_signatures(M, "trial", { key = { "t", "i" }, less = { "t", "t" } })
return M

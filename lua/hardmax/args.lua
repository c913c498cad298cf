-- hardmax.args — command-line options of experiment scripts (exp.args) and shard specs
-- ("i/N"). See docs/exp.md.
local util = require "hardmax.util"
local fail, check_options = util.fail, util.check_options
local fmt, concat, mtype = string.format, table.concat, math.type

local M = {}

local function parse_shard(fn, s)
  if s == nil or s == "" or s == false then return nil end
  local i, n
  if type(s) == "string" then
    i, n = s:match("^%s*(%d+)%s*/%s*(%d+)%s*$")
    i, n = tonumber(i), tonumber(n)
  elseif type(s) == "table" then
    i, n = s[1], s[2]
  end
  if not i or not n or mtype(i) ~= "integer" or mtype(n) ~= "integer" or n < 1 or i < 1 or i > n then
    fail(fn, "option 'shard': expected 'i/N' with 1 <= i <= N (e.g. '2/4'), got '%s'", tostring(s))
  end
  return { i, n }
end
M.parse_shard = function(s) return parse_shard("exp.parse_shard", s) end
M.parse_shard = parse_shard

-- script arguments -------------------------------------------------------------------------
local STANDARD = { jobs = 1, shard = "", resume = false }

--- Parse `--key value`, `--key=value`, `--flag`, `--no-flag` from a script's arg table with
--- types taken from the defaults; jobs/shard/resume are always available. Unknown keys are
--- errors; --help prints the options and exits.
function M.parse(argt, defaults, usage)
  local fn = "exp.args"
  if type(argt) ~= "table" then fail(fn, "bad argument #1 (the script's arg table expected, got %s)", type(argt)) end
  if type(defaults) ~= "table" then fail(fn, "bad argument #2 (table of defaults expected, got %s)", type(defaults)) end
  local d = {}
  for k, v in pairs(defaults) do
    if type(k) ~= "string" then fail(fn, "bad argument #2 (option names must be strings)") end
    if type(v) ~= "number" and type(v) ~= "string" and type(v) ~= "boolean" then
      fail(fn, "bad argument #2 (default of '%s' must be a number, string or boolean, got %s)", k, type(v))
    end
    d[k] = v
  end
  for k, v in pairs(STANDARD) do if d[k] == nil then d[k] = v end end
  local names = {}
  for k in pairs(d) do names[#names + 1] = k end
  table.sort(names)
  local function dashed(k) return "--" .. k:gsub("_", "-") end
  local lookup = {}
  for _, k in ipairs(names) do lookup[k] = k; lookup[(k:gsub("_", "-"))] = k end
  local res = {}
  for k, v in pairs(d) do res[k] = v end
  local i = 1
  while i <= #argt do
    local a = tostring(argt[i])
    if a == "--help" or a == "-h" then
      local out = { usage or ("usage: " .. tostring(argt[0] or "script") .. " [options]"), "options:" }
      for _, k in ipairs(names) do
        local v = d[k]
        out[#out + 1] = fmt("  %-18s %s (default: %s)", dashed(k) .. (type(v) == "boolean" and "" or " " .. (mtype(v) == "integer" and "INT" or type(v) == "number" and "NUM" or "STR")),
          type(v) == "boolean" and "flag" or (mtype(v) == "integer" and "integer" or type(v)), tostring(v == "" and '""' or v))
      end
      io.stdout:write(concat(out, "\n"), "\n")
      os.exit(0)
    end
    local name, val = a:match("^%-%-([%w_%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w_%-]+)$") end
    if not name then
      fail(fn, "unexpected argument '%s' (options are --name value; try --help)", a)
    end
    local neg = false
    local key = lookup[name]
    if not key and name:match("^no%-") then
      key = lookup[name:sub(4)]
      neg = key ~= nil and type(d[key]) == "boolean"
      if not neg then key = nil end
    end
    if not key then
      local valid = {}
      for _, k in ipairs(names) do valid[#valid + 1] = dashed(k) end
      fail(fn, "unknown option '--%s' (valid options: %s)", name, concat(valid, ", "))
    end
    local def = d[key]
    if type(def) == "boolean" then
      if val ~= nil then
        if val == "true" or val == "1" then res[key] = not neg
        elseif val == "false" or val == "0" then res[key] = neg
        else fail(fn, "option '--%s': true or false expected, got '%s'", name, val) end
      else
        res[key] = not neg
      end
    else
      if val == nil then
        i = i + 1
        val = argt[i]
        if val == nil then fail(fn, "option '--%s' needs a value", name) end
        val = tostring(val)
      end
      if mtype(def) == "integer" then
        local v = math.tointeger(tonumber(val))
        if not v then fail(fn, "option '--%s': integer expected, got '%s'", name, val) end
        res[key] = v
      elseif type(def) == "number" then
        local v = tonumber(val)
        if not v then fail(fn, "option '--%s': number expected, got '%s'", name, val) end
        res[key] = v + 0.0
      else
        res[key] = val
      end
    end
    i = i + 1
  end
  if mtype(res.jobs) ~= "integer" or res.jobs < 1 then fail(fn, "option '--jobs': positive integer expected, got %s", tostring(res.jobs)) end
  if res.shard ~= "" then parse_shard(fn, res.shard) end
  return res
end

return M

-- hardmax.json — a small, strict JSON encoder/decoder with deterministic output.
--
-- Why not lua-cjson: Debian's lua-cjson 2.1.0 caps number precision at 14 significant
-- digits (cjson.encode_number_precision rejects 17), so it cannot round-trip doubles, and its
-- key order follows the hash table. Results must be byte-identical across runs and machines,
-- so hardmax writes JSON itself:
--   * object keys sorted bytewise; arrays are tables with keys exactly 1..n;
--   * integers (math.type "integer") as %d; floats as %.17g (round-trips every double), with
--     ".0" appended when the text would otherwise read as an integer; NaN, Infinity and
--     -Infinity as those bare words (as Python's json module does), accepted by decode;
--   * strings escaped per RFC 8259 (control characters as \uXXXX or short escapes);
--   * mat arrays (anything with a :totable() method) as nested arrays.
local M = {}

M.null = setmetatable({}, { __tostring = function() return "null" end })

local fmt, concat, mtype = string.format, table.concat, math.type
-- C fast paths for flat arrays of numbers (the bulk of result files); the Lua code below
-- defines the format and handles everything else, and all of it without the C module
local jsonc = select(2, pcall(require, "hardmax.jsonc"))
if type(jsonc) ~= "table" then jsonc = nil end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
local function esc(s)
  if not s:find('[%c"\\]') then return '"' .. s .. '"' end
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or fmt("\\u%04x", c:byte())
  end) .. '"'
end

--- Format a number the way every hardmax result file does.
function M.number(x)
  if type(x) ~= "number" then error(fmt("json.number: bad argument #1 (number expected, got %s)", type(x)), 0) end
  if mtype(x) == "integer" then return fmt("%d", x) end
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  local s = fmt("%.17g", x)
  if not s:find("[%.eEn]") then s = s .. ".0" end
  return s
end

local function is_array(t)
  local n = #t
  local count = 0
  for k in pairs(t) do
    if mtype(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n and n > 0
end

local function pathstr(stack)
  local parts = { "$" }
  for i = 1, #stack do
    local k = stack[i]
    parts[#parts + 1] = mtype(k) == "integer" and ("[" .. k .. "]") or ("." .. tostring(k))
  end
  return concat(parts)
end

local function encode(v, out, path, seen, indent, level)
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = M.number(v)
  elseif tv == "string" then
    out[#out + 1] = esc(v)
  elseif tv == "userdata" or (tv == "table" and getmetatable(v) and v.totable) then
    local ok, t = pcall(function() return v:totable() end)
    if not ok or type(t) ~= "table" then
      error(("json.encode: cannot encode %s at %s"):format(tostring(v), pathstr(path)), 0)
    end
    if type(t) == "table" and next(t) == nil then out[#out + 1] = "[]" return end
    encode(t, out, path, seen, indent, level)
  elseif tv == "table" then
    if seen[v] then error(("json.encode: cycle at %s"):format(pathstr(path)), 0) end
    seen[v] = true
    local nl = indent and ("\n" .. indent:rep(level + 1)) or ""
    local close = indent and ("\n" .. indent:rep(level)) or ""
    local array = is_array(v)
    local fast = array and not indent and jsonc and jsonc.encode_numbers(v, #v)
    if fast then
      out[#out + 1] = fast   -- a flat array of numbers, formatted in C exactly as below
    elseif array then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = nl
        path[#path + 1] = i
        encode(v[i], out, path, seen, indent, level + 1)
        path[#path] = nil
      end
      out[#out + 1] = close .. "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then
          error(("json.encode: table at %s mixes array and object keys (key %s)")
            :format(pathstr(path), tostring(k)), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = nl .. esc(k) .. (indent and ": " or ":")
        path[#path + 1] = k
        encode(v[k], out, path, seen, indent, level + 1)
        path[#path] = nil
      end
      out[#out + 1] = (#keys > 0 and close or "") .. "}"
    end
    seen[v] = nil
  else
    error(("json.encode: cannot encode a %s at %s"):format(tv, pathstr(path)), 0)
  end
end

--- Encode a Lua value. opts.indent (string) pretty-prints.
function M.encode(v, opts)
  local util = require "hardmax.util"
  opts = util.check_options("json.encode", opts, { "indent" }, 2)
  if opts.indent ~= nil and type(opts.indent) ~= "string" then
    util.fail("json.encode", "option 'indent': string expected, got %s", type(opts.indent))
  end
  local out = {}
  encode(v, out, {}, {}, opts.indent, 0)
  return concat(out)
end

-- decoder ---------------------------------------------------------------------------------
local function decode_error(s, i, msg)
  local line = select(2, s:sub(1, i):gsub("\n", "")) + 1
  error(("json.decode: %s at line %d (byte %d)"):format(msg, line, i), 0)
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function utf8char(c)
  return utf8.char(c)
end

local decode_value
local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                 r = "\r", t = "\t" }

local function decode_string(s, i)
  local parts, j = {}, i + 1
  while true do
    local k = s:find('["\\%c]', j)
    if not k then decode_error(s, i, "unterminated string") end
    parts[#parts + 1] = s:sub(j, k - 1)
    local c = s:sub(k, k)
    if c == '"' then return concat(parts), k + 1 end
    if c ~= "\\" then decode_error(s, k, "control character in string") end
    local e = s:sub(k + 1, k + 1)
    if simple[e] then
      parts[#parts + 1] = simple[e]
      j = k + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", k + 2)
      if not hex then decode_error(s, k, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      j = k + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = s:match("^\\u(%x%x%x%x)", j)
        local lov = lo and tonumber(lo, 16)
        if not lov or lov < 0xDC00 or lov > 0xDFFF then decode_error(s, k, "unpaired surrogate") end
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lov - 0xDC00)
        j = j + 6
      end
      parts[#parts + 1] = utf8char(cp)
    else
      decode_error(s, k, "bad escape \\" .. e)
    end
  end
end

local words = { ["true"] = true, ["false"] = false, ["null"] = M.null, ["NaN"] = 0 / 0,
                ["Infinity"] = math.huge, ["-Infinity"] = -math.huge }

decode_value = function(s, i, depth)
  if depth > 512 then decode_error(s, i, "nesting too deep") end
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return t, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then decode_error(s, i, "object key expected") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then decode_error(s, i, "':' expected") end
      local v
      v, i = decode_value(s, i + 1, depth + 1)
      t[k] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return t, i + 1 end
      if d ~= "," then decode_error(s, i, "',' or '}' expected") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    if jsonc then   -- a flat array of plain numbers, parsed in C exactly as below
      local t, j = jsonc.decode_numbers(s, i)
      if t then return t, j end
    end
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return t, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i, depth + 1)
      t[#t + 1] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return t, i + 1 end
      if d ~= "," then decode_error(s, i, "',' or ']' expected") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if num and #num > 0 and num ~= "-" then
      local isint = not num:find("[%.eE]")
      local v = isint and math.tointeger(tonumber(num)) or tonumber(num)
      if isint and not v then v = tonumber(num .. ".0") end -- beyond 64-bit: float
      if not v then decode_error(s, i, "bad number '" .. num .. "'") end
      return v, i + #num
    end
    for w, v in pairs(words) do
      if s:sub(i, i + #w - 1) == w then return v, i + #w end
    end
    decode_error(s, i, c == "" and "unexpected end of input" or ("unexpected '" .. c .. "'"))
  end
end

--- Decode a JSON text; raises "json.decode: ... at line L (byte B)" on malformed input.
--- null decodes to json.null.
function M.decode(s)
  if type(s) ~= "string" then
    error(("json.decode: bad argument #1 (string expected, got %s)"):format(type(s)), 2)
  end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then decode_error(s, i, "trailing characters") end
  return v
end

return M

-- hardmax.json: deterministic encoder (sorted keys, %.17g) and strict decoder.
require "hardmax"

describe("json", function()
  local json = require "hardmax.json"

  it("encodes with sorted keys, integers as %d and floats as %.17g", function()
    assert.are.equal('{"a":1,"b":[1.5,2.0,0.10000000000000001],"c":"x"}',
      json.encode { c = "x", a = 1, b = { 1.5, 2.0, 0.1 } })
    assert.are.equal("3.0", json.encode(3.0))
    assert.are.equal("-7", json.encode(-7))
    assert.are.equal("1.0000000000000001e+300", json.encode(1e300))
    assert.are.equal("1e+22", json.encode(1e22))
    assert.are.equal("NaN", json.encode(0 / 0))
    assert.are.equal("[Infinity,-Infinity]", json.encode { math.huge, -math.huge })
    assert.are.equal("{}", json.encode {})
    assert.are.equal("[true,false,null]", json.encode { true, false, json.null })
  end)

  it("rejects bad options", function()
    assert.has_error(function() json.encode(1, true) end)
    assert.has_error(function() json.encode(1, { indnet = " " }) end,
      "json.encode: unknown option 'indnet' (valid options: indent)")
    assert.has_error(function() json.encode(1, { indent = 2 }) end, "json.encode: option 'indent': string expected, got number")
  end)

  it("number() formats one number like every result file", function()
    assert.are.equal("3", json.number(3))
    assert.are.equal("3.0", json.number(3.0))
    assert.are.equal("0.10000000000000001", json.number(0.1))
    assert.are.equal("NaN", json.number(0 / 0))
    assert.are.equal("-Infinity", json.number(-math.huge))
    assert.has_error(function() json.number("1") end, "json.number: bad argument #1 (number expected, got string)")
  end)

  it("the C fast paths for number arrays give exactly the pure-Lua codec's text and values", function()
    -- the same json.lua without its C helper (require "hardmax.jsonc" fails there)
    local src = (os.getenv("HARDMAX_SRC") or ".") .. "/lua/hardmax/json.lua"
    local env = setmetatable({ require = function(name)
      if name == "hardmax.jsonc" then error("not available") end
      return require(name)
    end }, { __index = _G })
    local pure = assert(loadfile(src, "t", env))()
    local state = 7
    local function rnd() state = (state * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff; return state end
    local arrays = { {}, { 0, -0.0, 1, -1, 0.1, 1e300, -1e-300, 5e-324, 2 ^ 53, 2 ^ 63, math.maxinteger, math.mininteger },
      { 0 / 0, math.huge, -math.huge, 1.5 }, { 1, "x" }, { 1, { 2 } }, { true } }
    for k = 1, 200 do
      local a = {}
      for i = 1, k % 17 + 1 do
        local r = rnd()
        a[i] = (r % 3 == 0) and (r - 2 ^ 62) // 1 or math.ldexp((r % 2 ^ 52) / 2 ^ 52 + 1, r % 2001 - 1000) * (r % 5 == 0 and -1 or 1)
      end
      arrays[#arrays + 1] = a
    end
    for _, a in ipairs(arrays) do
      local text = pure.encode({ a = a, b = { a } })
      assert.are.equal(text, json.encode({ a = a, b = { a } }))
      local x, y = pure.decode(text), json.decode(text)
      assert.are.equal(pure.encode(x), json.encode(y))
      for i, v in ipairs(x.a) do
        assert.are.equal(math.type(v), math.type(y.a[i]))
        if type(v) == "number" and v == v then assert.are.equal(v, y.a[i]) end
      end
    end
    -- number syntax at the edges, whitespace, and malformed input (same value or same error)
    for _, text in ipairs { "[ 1 , -0 ,2.5e3,\n\t1E-2 ]", "[9223372036854775807,9223372036854775808]",
        "[-9223372036854775808,-9223372036854775809,123456789012345678901234567890]", "[01, 1., 1e400, -1e400]",
        "[]", "[ ]", "[1,]", "[1 2]", "[1e]", "[-]", "[.5]", "[0x10]", "[1", "[1,2", "[" .. ("1"):rep(200) .. "]",
        "[NaN,1]", "[1,[2]]", '[1,"a"]' } do
      local ok1, r1 = pcall(pure.decode, text)
      local ok2, r2 = pcall(json.decode, text)
      assert.are.equal(ok1, ok2, text)
      if ok1 then
        assert.are.equal(pure.encode(r1), json.encode(r2))
        for i, v in ipairs(r1) do
          if type(v) == "number" then assert.are.equal(math.type(v), math.type(r2[i]), text) end
        end
      else
        assert.are.equal(r1, r2)
      end
    end
  end)

  it("escapes strings per RFC 8259", function()
    assert.are.equal('"a\\"b\\\\c\\n\\t\\u0001é"', json.encode('a"b\\c\n\t\1é'))
  end)

  it("round-trips doubles bit-for-bit", function()
    local vals = { 0.1, 1 / 3, 2 ^ -1074, 1.7976931348623157e308, -0.0, 123456789.123456789, 5e-324, 1e-7 }
    local x = 0.5
    for _ = 1, 200 do
      x = (x * 7919.123456789) % 1
      vals[#vals + 1] = x * 10 ^ math.floor(x * 40 - 20)
    end
    for _, v in ipairs(vals) do
      local back = json.decode(json.encode(v))
      assert.are.equal(v, back)
      assert.are.equal("float", math.type(back))
    end
    local big = json.decode("12345678901234567890")
    assert.are.equal("float", math.type(big))
    assert.are.equal(9007199254740993, json.decode("9007199254740993"))
  end)

  it("pretty-prints with an indent", function()
    assert.are.equal('{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}', json.encode({ a = { 1, 2 }, b = {} }, { indent = "  " }))
  end)

  it("encodes array-like objects through :totable()", function()
    local fake = setmetatable({}, { __index = { totable = function() return { { 1.0, 2.0 }, { 3.0, 4.0 } } end } })
    assert.are.equal("[[1.0,2.0],[3.0,4.0]]", json.encode(fake))
  end)

  it("encodes mat arrays as nested arrays", function()
    local mat = require "hardmax.mat"
    assert.are.equal('{"m":[[1.0,2.5],[3.0,4.0]],"v":[0.5]}',
      json.encode { v = mat.new { 0.5 }, m = mat.new { { 1, 2.5 }, { 3, 4 } } })
  end)

  it("rejects cycles, mixed tables and functions with the path", function()
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end, "json.encode: cycle at $.self")
    assert.has_error(function() json.encode { 1, 2, x = 3 } end,
      "json.encode: table at $ mixes array and object keys (key 1)")
    assert.has_error(function() json.encode { f = print } end, "json.encode: cannot encode a function at $.f")
  end)

  it("decodes JSON including escapes, surrogates and nesting", function()
    local v = json.decode(' { "a" : [1, 2.5, -3e2, true, null], "s": "x\\u00e9\\ud83d\\ude00\\n", "o": {} } ')
    assert.are.same({ 1, 2.5, -300.0, true, json.null }, v.a)
    assert.are.equal("xé😀\n", v.s)
    assert.are.same({}, v.o)
    assert.is_true(json.decode("NaN") ~= json.decode("NaN"))
    assert.are.equal(-math.huge, json.decode("-Infinity"))
  end)

  it("reports malformed input with a position", function()
    assert.has_error(function() json.decode('{"a":1,}') end, "json.decode: object key expected at line 1 (byte 8)")
    assert.has_error(function() json.decode('[1 2]') end, "json.decode: ',' or ']' expected at line 1 (byte 4)")
    assert.has_error(function() json.decode('"abc') end, "json.decode: unterminated string at line 1 (byte 1)")
    assert.has_error(function() json.decode('1 x') end, "json.decode: trailing characters at line 1 (byte 3)")
    assert.has_error(function() json.decode('') end, "json.decode: unexpected end of input at line 1 (byte 1)")
    assert.has_error(function() json.decode(5) end, "json.decode: bad argument #1 (string expected, got number)")
  end)
end)

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

-- hardmax.rng: generators, known answers, shapes, splitting, state round trips, errors.
-- Known-answer constants come from tests/rng_reference.py (an independent Python
-- reimplementation run once; see tests/c/test_rng_kat.c).
require "hardmax"

describe("rng", function()
  local rng = require "hardmax.rng"
  local mat = require "hardmax.mat"

  -- element i (1-based, row-major) of a mat, if the mat module can read elements yet
  local function reader(A)
    if A.totable then
      local flat, t = {}, A:totable()
      local function walk(x) if type(x) == "table" then for _, v in ipairs(x) do walk(v) end else flat[#flat + 1] = x end end
      walk(t)
      return function(i) return flat[i] end
    end
  end

  local normals = {
    [0] = { -0.01896499060631051, -1.3559302271143727, -0.40372109705088766, 0.23335097938940202 },
    [1] = { -1.5452228371402943, -0.19951530557849143, -1.0136476397283942, 0.8244068374882674 },
    [42] = { -0.303263064678738, 0.28846173882942383, 1.3438117634372806, -0.6879751798977497 },
  }
  local uniforms = {
    [0] = { 0.6012629994179048, 0.7477740925472398 },
    [1] = { 0.7029218331588505, 0.5204366199388569 },
    [42] = { 0.08386297105988216, 0.3789802506626686 },
  }

  -- Uniforms are an exact shift and scaling of the integer stream: compared exactly. Normals
  -- go through libm's log, sin, cos (last bit unspecified; glibc's FMA and non-FMA variants
  -- differ): r cos(a) is within 2.5 ulp of exact (0.5 log/2 + 0.5 sqrt + 1 cos + 0.5 mul),
  -- two libms within 5 ulp; compared within 8 eps |z| (tests/c/test_rng_kat.c). A changed
  -- stream moves a normal by O(1).
  local function normal_eq(want, got)
    assert(math.abs(got - want) <= 8 * 2 ^ -52 * math.abs(want),
      string.format("normal %.17g, expected %.17g", got, want))
  end

  it("reproduces the pinned normal and uniform streams", function()
    for seed, z in pairs(normals) do
      local g = rng.new(seed)
      for i = 1, 4 do normal_eq(z[i], g:normal()) end
      g = rng.new(seed)
      for i = 1, 4 do normal_eq(z[i], g:randn()) end
      g = rng.new(seed)
      for i = 1, 2 do assert.are.equal(uniforms[seed][i], g:uniform()) end
      g = rng.new(seed)
      for i = 1, 2 do assert.are.equal(uniforms[seed][i], g:rand()) end
    end
  end)

  it("randn/rand return arrays of the requested shape drawn from the stream", function()
    local g = rng.new(42)
    local A = g:randn(2, 3)
    assert.are.same({ 2, 3 }, { A:shape() })
    assert.are.same({ 4 }, { g:rand(4):shape() })
    assert.are.same({ 2, 1, 3 }, { g:randn(2, 1, 3):shape() })
    assert.are.same({ 0 }, { g:randn(0):shape() })
    local get = reader(A)
    if get then
      for i = 1, 4 do normal_eq(normals[42][i], get(i)) end
      local U = rng.new(0):rand(2)
      local u = reader(U)
      assert.are.equal(uniforms[0][1], u(1))
      assert.are.equal(uniforms[0][2], u(2))
    end
    -- an array consumes exactly as many draws as its size
    local g1, g2 = rng.new(5), rng.new(5)
    g1:randn(3, 2)
    for _ = 1, 6 do g2:normal() end
    assert.are.equal(g2:normal(), g1:normal())
    g1, g2 = rng.new(5), rng.new(5)
    g1:rand(2, 2)
    for _ = 1, 4 do g2:uniform() end
    assert.are.equal(g2:uniform(), g1:uniform())
  end)

  it("randint is inclusive, pinned, and covers the range", function()
    local g = rng.new(42)
    local got = {}
    for i = 1, 8 do got[i] = g:randint(1, 6) end
    assert.are.same({ 1, 1, 6, 6, 5, 1, 5, 4 }, got)
    g = rng.new(7)
    got = {}
    for i = 1, 8 do got[i] = g:randint(-5, 5) end
    assert.are.same({ 1, -3, 5, 3, -2, -4, -4, 4 }, got)
    local seen = {}
    for _ = 1, 300 do
      local v = g:randint(-2, 2)
      assert.is_true(math.type(v) == "integer" and v >= -2 and v <= 2)
      seen[v] = true
    end
    for v = -2, 2 do assert.is_true(seen[v]) end
    assert.are.equal(3, g:randint(3, 3))
    local big = g:randint(math.mininteger, math.maxinteger)
    assert.are.equal("integer", math.type(big))
  end)

  it("sign gives +-1 from the top bit of each draw", function()
    local s = rng.new(42):sign(8)
    assert.are.same({ 8 }, { s:shape() })
    local get = reader(s)
    if get then
      local want = { 1, 1, -1, -1, -1, -1, -1, -1 }
      for i = 1, 8 do assert.are.equal(want[i], get(i)) end
    end
  end)

  it("perm is a pinned Fisher-Yates permutation of 1..n", function()
    assert.are.same({ 8, 4, 9, 10, 6, 7, 5, 2, 1, 3 }, rng.new(42):perm(10))
    assert.are.same({}, rng.new(1):perm(0))
    assert.are.same({ 1 }, rng.new(1):perm(1))
    local p = rng.new(3):perm(100)
    local seen = {}
    for _, v in ipairs(p) do seen[v] = (seen[v] or 0) + 1 end
    for v = 1, 100 do assert.are.equal(1, seen[v]) end
  end)

  it("split depends only on (derivation id, key), not on draws", function()
    local g = rng.new(42)
    local a1 = g:split(1)
    assert.are.equal(-1783469341453387853, a1:id())
    assert.are.equal(-338219740505100156, g:split("a"):id())
    assert.are.equal(-2610618829151142106, g:split("trial-7"):id())
    for _ = 1, 13 do g:normal() end
    local a2 = g:split(1)
    assert.are.equal(a1:state(), a2:state())
    assert.are.equal(a1:normal(), a2:normal())
    -- integer and string keys are kept apart; different keys differ
    assert.are_not.equal(g:split(1):id(), g:split("1"):id())
    assert.are_not.equal(g:split(1):id(), g:split(2):id())
    -- children of children are deterministic too
    assert.are.equal(rng.new(42):split("a"):split(3):id(), g:split("a"):split(3):id())
    assert.are.equal(g:split(2):id(), g:split(2.0):id())
  end)

  it("state round-trips exactly, including the Box-Muller spare", function()
    local g = rng.new(9)
    g:normal() -- leaves a cached spare
    local s = g:state()
    assert.is_string(s)
    assert.truthy(s:match("^xoshiro256%*%*:"))
    local h = rng.restore(s)
    assert.are.equal(s, h:state())
    for _ = 1, 5 do assert.are.equal(g:normal(), h:normal()) end
    assert.are.equal(g:uniform(), h:uniform())
    assert.are.equal(g:split("k"):id(), h:split("k"):id())
    local c = g:clone()
    assert.are.equal(g:state(), c:state())
    assert.are.equal(g:randint(1, 1000), c:randint(1, 1000))
  end)

  it("default generator is seeded from hardmax.seed (0 here)", function()
    local d = rng.default()
    assert.are.equal(d, rng.default())
    assert.are.equal(require("hardmax").seed(), d:id())
    assert.are.equal("rng(id=0x000000000000002a)", tostring(rng.new(42)))
    assert.are.equal("rng(id=0xffffffffffffffff)", tostring(rng.new(-1)))
  end)

  it("raises clear errors on bad input", function()
    local g = rng.new(1)
    assert.has_error(function() rng.new(1.5) end,
      "rng.new: bad argument #1 (integer expected, got non-integral number 1.5)")
    assert.has_error(function() rng.new("x") end,
      "rng.new: bad argument #1 (integer expected, got string)")
    assert.has_error(function() g:randn(-1) end,
      "rng.randn: bad argument #2 (non-negative size expected, got -1)")
    assert.has_error(function() g:rand(1, 2, 3, 4) end,
      "rng.rand: at most 3 dimensions expected, got 4")
    assert.has_error(function() g:randint(3, 1) end, "rng.randint: empty range [3, 1] (lo > hi)")
    assert.has_error(function() g:randint(1) end,
      "rng.randint: bad argument #3 (integer expected, got no value)")
    assert.has_error(function() g:split({}) end,
      "rng.split: bad argument #2 (integer or string key expected, got table)")
    assert.has_error(function() g:split(0.5) end,
      "rng.split: bad argument #2 (integer expected, got non-integral number 0.5)")
    assert.has_error(function() g.normal(mat.zeros(1)) end,
      "rng.normal: bad argument #1 (rng expected, got hardmax.mat)")
    assert.has_error(function() rng.restore("nope") end,
      "rng.restore: bad argument #1 (malformed rng state string 'nope')")
    assert.has_error(function() rng.restore(42) end,
      "rng.restore: bad argument #1 (state string expected, got number)")
    assert.has_error(function()
      rng.restore("xoshiro256**:0000000000000000:0000000000000000:0000000000000000:0000000000000000:0000000000000000:0:0000000000000000")
    end, "rng.restore: bad argument #1 (invalid rng state (all-zero xoshiro state))")
    assert.has_error(function() g:sign(-2) end,
      "rng.sign: bad argument #2 (non-negative size expected, got -2)")
    assert.has_error(function() g:randn(2 ^ 40, 2 ^ 40) end,
      "rng.randn: array of that shape is too large")
  end)
end)

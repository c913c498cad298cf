-- mat: .npz load/save. Fixtures in tests/data/npz were written by Python's zipfile with
-- hand-made NPY 1.0 members (tests/data/npz/make_fixtures.py); no numpy or python needed here.
require "hardmax"
local mat = require "hardmax.mat"

local SRC = os.getenv "HARDMAX_SRC" or "."
local function fixture(name) return SRC .. "/tests/data/npz/" .. name end

local F = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/file_helpers.lua")
local readfile, writefile = F.readfile, F.writefile

local function tt(A) return A:totable() end

-- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit: independent of zlib.
local function crc32(s)
  local c = 0xffffffff
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do
      c = (c & 1) ~= 0 and ((c >> 1) ~ 0xedb88320) or (c >> 1)
    end
  end
  return c ~ 0xffffffff
end

-- The members of an archive from its central directory: name, method, crc, sizes, offset.
local function central(s)
  local eocd = s:find("PK\5\6", #s - 21, true)
  assert(eocd, "no end record")
  local count, _, cd = string.unpack("<I2I4I4", s, eocd + 10)
  local out, p = {}, cd + 1
  for _ = 1, count do
    assert(s:sub(p, p + 3) == "PK\1\2")
    local flags, method, time, date, crc, csize, usize, nl, xl, cl =
      string.unpack("<I2I2I2I2I4I4I4I2I2I2", s, p + 8)
    local offset = string.unpack("<I4", s, p + 42)
    out[#out + 1] = { name = s:sub(p + 46, p + 45 + nl), flags = flags, method = method,
                      time = time, date = date, crc = crc, csize = csize, usize = usize,
                      offset = offset }
    p = p + 46 + nl + xl + cl
  end
  return out
end

local function is_negzero(x) return x == 0 and 1 / x < 0 end

describe("mat.load_npz", function()
  local A = { { 1.5, -2, 3e300 }, { 0, -0.0, 1e-310 } }

  local function check_values(t, members)
    members = members or { "a", "b", "c", "d" }
    assert.are.same(A, tt(t.a))
    assert.is_true(is_negzero(t.a[2][2]))
    if members[2] == "b" then assert.are.same({ 1, -2, 2 ^ 53 }, tt(t.b)) end
    if members[3] == "c" then
      assert.are.same({ 2, 1, 2 }, { t.c:shape() })
      assert.are.same({ { { 0.5, -0.25 } }, { { 1024, 3 } } }, tt(t.c))
    end
    if members[4] == "d" or members[3] == "d" then assert.are.same({ 7, -8 }, tt(t.d)) end
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    assert.are.equal(#members, n)
  end

  it("reads np.savez-style stored members with zip64 local extras", function()
    local t, skipped = mat.load_npz(fixture "stored.npz")
    check_values(t)
    assert.are.same({}, skipped)
  end)

  it("reads deflated members (np.savez_compressed) with and without zip64 extras", function()
    check_values((mat.load_npz(fixture "deflated.npz")))
    check_values((mat.load_npz(fixture "plain.npz")))
  end)

  it("reads members written with data descriptors (stored and deflated)", function()
    check_values((mat.load_npz(fixture "descriptor.npz")), { "a", "b", "d" })
  end)

  it("reads zip64 central-directory extras and the zip64 end record", function()
    local s = readfile(fixture "zip64_all.npz")
    assert.truthy(s:find("PK\6\6", 1, true))
    check_values((mat.load_npz(fixture "zip64_all.npz")), { "a", "b" })
  end)

  it("skips members that are not .npy and returns their names", function()
    local t, skipped = mat.load_npz(fixture "mixed.npz")
    check_values(t, { "a" })
    assert.are.same({ "notes.txt", "sub/" }, skipped)
  end)

  it("rejects corrupt and unsupported archives with a message naming file and member", function()
    local cases = {
      { "bad_crc.npz", "member 'a.npy': CRC%-32 mismatch %(archive says ec08d4b2, data has " },
      { "encrypted.npz", "member 'a.npy' is encrypted %(not supported%)" },
      { "bzip2.npz", "member 'a.npy' uses compression method 12 %(bzip2%); only 0 %(stored%) and 8 %(deflate%) are supported" },
      { "duplicate.npz", "duplicate member 'a.npy' in the archive" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(mat.load_npz, fixture(c[1]))
      assert.is_false(ok)
      assert.truthy(err:find("^mat%.load_npz: '[^']*" .. c[1]:gsub("%.", "%%.") .. "': " .. c[2]), err)
    end
    local ok, err = pcall(mat.load_npz, fixture "stored.npy")
    assert.is_false(ok)
    assert.truthy(err:find("^mat%.load_npz: cannot open '.*stored%.npy': "), err)
    assert.has_error(function() mat.load_npz(42) end,
      "mat.load_npz: bad argument #1 (path string expected, got number)")
  end)

  it("rejects a file that is not a ZIP archive", function()
    local p = os.tmpname()
    writefile(p, "\147NUMPY not a zip file at all")
    local ok, err = pcall(mat.load_npz, p)
    os.remove(p)
    assert.is_false(ok)
    assert.truthy(err:find("not a ZIP archive (no end-of-central-directory record)", 1, true), err)
  end)
end)

describe("mat.save_npz", function()
  local files = {}
  local function tmp()
    local p = os.tmpname()
    os.remove(p)
    p = p .. ".npz"
    files[#files + 1] = p
    return p
  end
  teardown(function() for _, p in ipairs(files) do os.remove(p) end end)

  local X = mat.new { { 1, 2, 3 }, { 4, 5, 6 } }
  local y = mat.new { 0.5, -1e-300, 1 / 3 }
  local T = mat.zeros(2, 3, 4)
  for i = 1, 2 do for j = 1, 3 do for k = 1, 4 do T[i][j][k] = i * 100 + j * 10 + k + 0.5 end end end

  it("round-trips stored and deflated archives exactly", function()
    for _, compress in ipairs { false, true } do
      local p = tmp()
      mat.save_npz(p, { X = X, y = y, T = T }, { compress = compress })
      local t, skipped = mat.load_npz(p)
      assert.are.same(tt(X), tt(t.X))
      assert.are.same(tt(y), tt(t.y))
      assert.are.equal(1 / 3, t.y[3])
      assert.are.same(tt(T), tt(t.T))
      assert.are.same({}, skipped)
      local c = central(readfile(p))
      assert.are.equal(3, #c)
      for _, e in ipairs(c) do assert.are.equal(compress and 8 or 0, e.method) end
    end
  end)

  it("writes sorted member names, fixed timestamps and identical bytes every time", function()
    local p1, p2 = tmp(), tmp()
    mat.save_npz(p1, { y = y, X = X, T = T })
    local t2 = {}
    t2.T = T; t2.y = y; t2.X = X
    mat.save_npz(p2, t2)
    local s1 = readfile(p1)
    assert.are.equal(s1, readfile(p2))
    local names = {}
    for _, e in ipairs(central(s1)) do
      names[#names + 1] = e.name
      assert.are.equal(0, e.time)     -- 00:00:00
      assert.are.equal(0x21, e.date)  -- 1980-01-01
    end
    assert.are.same({ "T.npy", "X.npy", "y.npy" }, names)
  end)

  it("stores members as the exact bytes of mat.save_npy with a correct CRC-32", function()
    local p = tmp()
    mat.save_npz(p, { X = X, y = y })
    local s = readfile(p)
    local npy = os.tmpname()
    mat.save_npy(npy, X)
    local xbytes = readfile(npy)
    os.remove(npy)
    local c = central(s)
    assert.are.equal("X.npy", c[1].name)
    assert.are.equal(#xbytes, c[1].usize)
    assert.are.equal(#xbytes, c[1].csize)
    -- local header: signature, name at 30, no extra field, then the member data
    assert.are.equal("PK\3\4", s:sub(1, 4))
    local nl, xl = string.unpack("<I2I2", s, 27)
    assert.are.equal("X.npy", s:sub(31, 30 + nl))
    assert.are.equal(0, xl)
    assert.are.equal(xbytes, s:sub(31 + nl, 30 + nl + #xbytes))
    assert.are.equal(crc32(xbytes), c[1].crc)
    assert.are.equal(crc32(xbytes), string.unpack("<I4", s, 15))
  end)

  it("compresses with compress = true", function()
    local p1, p2 = tmp(), tmp()
    local Z = mat.zeros(100, 100)
    mat.save_npz(p1, { Z = Z })
    mat.save_npz(p2, { Z = Z }, { compress = true })
    local n1, n2 = #readfile(p1), #readfile(p2)
    assert.is_true(n1 > 80000)
    assert.is_true(n2 < 1000)
    assert.are.same(tt(Z), tt(mat.load_npz(p2).Z))
  end)

  it("writes an empty archive for an empty table", function()
    local p = tmp()
    mat.save_npz(p, {})
    assert.are.equal(22, #readfile(p))
    local t, skipped = mat.load_npz(p)
    assert.are.same({}, t)
    assert.are.same({}, skipped)
  end)

  it("replaces an existing file atomically", function()
    local p = tmp()
    writefile(p, "old contents")
    mat.save_npz(p, { y = y })
    assert.are.same(tt(y), tt(mat.load_npz(p).y))
  end)

  it("every truncation of its output is an error, never a crash or a wrong result", function()
    local p, q = tmp(), tmp()
    for _, compress in ipairs { false, true } do
      mat.save_npz(p, { a = mat.new { 1, 2 }, b = mat.new { { 3 } } }, { compress = compress })
      local s = readfile(p)
      for len = 0, #s - 1 do
        writefile(q, s:sub(1, len))
        local ok, err = pcall(mat.load_npz, q)
        assert.is_false(ok, "accepted at length " .. len)
        assert.truthy(err:find("^mat%.load_npz: '"), err)
      end
    end
  end)

  it("checks its arguments", function()
    local p = tmp()
    assert.has_error(function() mat.save_npz(1, { X = X }) end,
      "mat.save_npz: bad argument #1 (path string expected, got number)")
    assert.has_error(function() mat.save_npz(p, X) end,
      "mat.save_npz: bad argument #2 (table of name = mat expected, got userdata)")
    assert.has_error(function() mat.save_npz(p, { X }) end,
      "mat.save_npz: bad argument #2 (array names must be strings, got number 1)")
    assert.has_error(function() mat.save_npz(p, { X = { 1, 2 } }) end,
      "mat.save_npz: bad argument #2 (entry 'X': mat expected, got table)")
    assert.has_error(function() mat.save_npz(p, { [""] = X }) end,
      "mat.save_npz: bad argument #2 (array names must be non-empty)")
    assert.has_error(function() mat.save_npz(p, { X = X }, { compress = 1 }) end,
      "mat.save_npz: option 'compress': boolean expected, got number")
    assert.has_error(function() mat.save_npz(p, { X = X }, { level = 9 }) end)
    local ok, err = pcall(mat.save_npz, "/nonexistent-dir/x.npz", { X = X })
    assert.is_false(ok)
    assert.truthy(err:find("^mat%.save_npz: cannot create a temporary file next to '/nonexistent%-dir/x%.npz'"), err)
  end)
end)

-- mat: .npy save/load on hand-made byte-exact fixtures (no numpy needed).
require "hardmax"
local mat = require "hardmax.mat"

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".npy"
end

local F = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/file_helpers.lua")
local readfile, writefile = F.readfile, F.writefile

-- A version-1.0 header exactly as numpy writes it: dict, spaces, newline, total % 64 == 0.
local function header(dict, major)
  major = major or 1
  local pre = major == 1 and 10 or 12
  local hlen = #dict + 1
  local pad = 64 - (pre + hlen) % 64
  local len = hlen + pad
  local lenbytes = major == 1 and string.pack("<I2", len) or string.pack("<I4", len)
  return "\x93NUMPY" .. string.char(major, 0) .. lenbytes .. dict .. (" "):rep(pad) .. "\n"
end

local function doubles(t) return string.pack("<" .. ("d"):rep(#t), table.unpack(t)) end

describe("mat.save_npy", function()
  local files = {}
  local function tmp()
    local p = tmpname()
    files[#files + 1] = p
    return p
  end
  teardown(function() for _, p in ipairs(files) do os.remove(p) end end)

  it("writes a 64-byte-aligned version 1.0 header and little-endian doubles", function()
    local p = tmp()
    mat.save_npy(p, mat.new { { 1, 2, 3 }, { 4, 5, 6 } })
    local s = readfile(p)
    local dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    local expected_header = "\x93NUMPY\x01\x00\x76\x00" .. dict .. (" "):rep(128 - 10 - #dict - 1) .. "\n"
    assert.are.equal(128, #expected_header)
    assert.are.equal(expected_header, s:sub(1, 128))
    assert.are.equal(doubles { 1, 2, 3, 4, 5, 6 }, s:sub(129))
  end)

  it("writes rank-1 shapes as 1-tuples and rank-3 shapes in full", function()
    local p = tmp()
    mat.save_npy(p, mat.new { 0.5, -1 })
    local s = readfile(p)
    assert.are.equal(header "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" .. doubles { 0.5, -1 }, s)
    mat.save_npy(p, mat.zeros(2, 0, 4))
    assert.are.equal(header "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 0, 4), }", readfile(p))
  end)

  it("replaces the target atomically and leaves no temporary file", function()
    local p = tmp()
    writefile(p, "old contents")
    mat.save_npy(p, mat.ones(3))
    assert.are.equal(mat.ones(3), mat.load_npy(p))
    local dir = p:match "^(.*)/"
    local base = p:match "([^/]*)$"
    local ls = io.popen("ls -a '" .. dir .. "'"):read "a"
    assert.is_nil(ls:find(base .. ".tmp.", 1, true))
  end)

  it("reports unwritable paths and bad arguments", function()
    assert.has_error(function() mat.save_npy("/nonexistent-dir/x.npy", mat.ones(1)) end,
      "mat.save_npy: cannot create a temporary file next to '/nonexistent-dir/x.npy': No such file or directory")
    assert.has_error(function() mat.save_npy(mat.ones(1), "x.npy") end,
      "mat.save_npy: bad argument #1 (path string expected, got userdata)")
    assert.has_error(function() mat.save_npy("x.npy", {}) end,
      "mat.save_npy: bad argument #2 (mat expected, got table)")
  end)
end)

describe("mat.load_npy", function()
  local files = {}
  local function fixture(bytes)
    local p = tmpname()
    files[#files + 1] = p
    writefile(p, bytes)
    return p
  end
  teardown(function() for _, p in ipairs(files) do os.remove(p) end end)

  it("round-trips rank 1, 2 and 3 exactly", function()
    for _, A in ipairs { mat.new { 1 / 3, -0.0, 1e300, 5e-324 }, mat.randn(7, 5), mat.randn(2, 3, 4), mat.zeros(0, 3) } do
      local p = fixture ""
      mat.save_npy(p, A)
      local B = mat.load_npy(p)
      assert.are.same({ A:shape() }, { B:shape() })
      assert.is_true(A == B)
    end
  end)

  it("reads hand-made '<f8' and '<i8' files, any key order, version 2.0", function()
    local p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }" .. doubles { 1, 2, 3, 4 })
    assert.are.same({ { 1, 2 }, { 3, 4 } }, mat.load_npy(p):totable())
    p = fixture(header "{'shape': (3,), 'fortran_order': False, 'descr': '<i8'}" ..
      string.pack("<i8<i8<i8", -7, 0, 9007199254740993))
    assert.are.same({ -7, 0, 9007199254740992 }, mat.load_npy(p):totable())
    p = fixture(header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 2), }", 2) .. doubles { 5, 6 })
    assert.are.same({ { { 5, 6 } } }, mat.load_npy(p):totable())
    p = fixture(header "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" .. string.pack("<f<f", 0.5, -2))
    assert.are.same({ 0.5, -2 }, mat.load_npy(p):totable())
  end)

  it("rejects Fortran order, big-endian data, other dtypes and bad shapes", function()
    local p = fixture(header "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }" .. doubles { 1, 2, 3, 4 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': Fortran-order (column-major) .npy files are not supported")
    p = fixture(header "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }" .. string.pack(">d", 1))
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': big-endian data ('>f8') is not supported")
    p = fixture(header "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }" .. ("\0"):rep(16))
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': unsupported dtype '<c16' (expected '<f8', '<i8', '<f4' or '<i4')")
    p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1), }" .. doubles { 1 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': arrays of rank > 3 are not supported")
    p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" .. doubles { 1 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': 0-d (scalar) arrays are not supported")
  end)

  it("rejects truncated and malformed files", function()
    local p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" .. doubles { 1, 2, 3, 4, 5 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': file is truncated: expected 48 data bytes, found 40")
    local full = header "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
    p = fixture(full:sub(1, 40))
    assert.has_error(function() mat.load_npy(p) end, "mat.load_npy: '" .. p .. "': truncated .npy header")
    p = fixture("PK\3\4 this is a zip file, not an npy file")
    assert.has_error(function() mat.load_npy(p) end, "mat.load_npy: '" .. p .. "': not a .npy file (bad magic string)")
    p = fixture(header "{'descr': '<f8', 'shape': (2,), }" .. doubles { 1, 2 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': malformed .npy header: missing 'fortran_order'")
    p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}" .. doubles { 1, 2 })
    assert.has_error(function() mat.load_npy(p) end,
      "mat.load_npy: '" .. p .. "': unexpected key 'extra' in .npy header")
    p = fixture("\x93NUMPY\x04\x00\x10\x00")
    assert.has_error(function() mat.load_npy(p) end, "mat.load_npy: '" .. p .. "': unsupported .npy format version 4.0")
    assert.has_error(function() mat.load_npy "/nonexistent-dir/x.npy" end,
      "mat.load_npy: cannot open '/nonexistent-dir/x.npy': No such file or directory")
    assert.has_error(function() mat.load_npy(3) end,
      "mat.load_npy: bad argument #1 (path string expected, got number)")
  end)

  it("rejects shapes whose size overflows", function()
    local p = fixture(header "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }")
    assert.has_error(function() mat.load_npy(p) end, "mat.load_npy: '" .. p .. "': array in .npy file is too large")
  end)
end)

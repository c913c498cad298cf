-- The Jupyter kernel's Lua side (hardmax.kernel, hardmax.kernel_display) without a client:
-- how cells compile, is_complete, error tracebacks, the HTML of mat/model values, inspection
-- doc lines and --install-kernel. The protocol over ZeroMQ is tested with Debian's real
-- clients in tests/jupyter/check_kernel.py (CTest jupyter.*).
local hm = require "hardmax"
-- inspection resolves names in the real globals table (busted gives specs their own
-- environment): the host's globals there, also under stock lua5.4
local G = load("return _G")()
G.mat, G.model, G.plot = hm.mat, hm.model, require "hardmax.plot"

local H = os.getenv("HARDMAX")
local SRC = os.getenv("HARDMAX_SRC") or "."
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("kernel", function()
  local kernel = require "hardmax.kernel"
  local display = require "hardmax.kernel_display"
  local sys = require "hardmax.sys"

  it("compiles a cell as the REPL compiles a line: return <cell> first", function()
    assert.are.same({ 3 }, { kernel.compile("1 + 2", "=t")() })
    assert.are.same({ 1, 2 }, { kernel.compile("1, 2", "=t")() })
    -- statements run as statements
    local f = kernel.compile("local a = 2\nlocal b = a * 3", "=t")
    assert.are.equal(0, select("#", f()))
  end)

  it("returns a bare last line only when the cell does not compile otherwise", function()
    assert.are.same({ 6 }, { kernel.compile("local a = 2\na * 3", "=t")() })
    -- valid as statements ("y = 5 - 1"): run as such, not split into "y = 5; return -1"
    local f = assert(kernel.compile("kernel_spec_y = 5\n-1", "=t"))
    assert.are.equal(0, select("#", f()))
    assert.are.equal(4, kernel_spec_y)
    local g, err = kernel.compile("x = = 1", "=In[7]")
    assert.is_nil(g)
    assert.matches("^In%[7%]:1:", err)
  end)

  it("is_complete: complete, incomplete at <eof>, invalid", function()
    assert.are.equal("complete", kernel.is_complete("x = 1"))
    assert.are.equal("complete", kernel.is_complete("1 + 1"))
    assert.are.equal("incomplete", kernel.is_complete("for i = 1, 2 do"))
    assert.are.equal("incomplete", kernel.is_complete("f(1,"))
    assert.are.equal("incomplete", kernel.is_complete("1 +"))
    assert.are.equal("invalid", kernel.is_complete("x = = 1"))
    assert.are.equal("invalid", kernel.is_complete("end"))
  end)

  it("error_content keeps the cell's frames and drops the kernel's", function()
    local msg = table.concat({
      "In[3]:1: boom", "stack traceback:", "\t[C]: in function 'error'",
      "\tIn[3]:1: in local 'f'", "\tIn[3]:2: in main chunk",
      "\t[C]: in field 'docall'", "\t@lua/hardmax/kernel.lua:170: in field 'execute_request'", "\t[C]: in ?" }, "\n")
    local e = kernel.error_content(msg)
    assert.are.equal("LuaError", e.ename)
    assert.are.equal("In[3]:1: boom", e.evalue)
    assert.are.same({ "In[3]:1: boom", "stack traceback:", "\t[C]: in function 'error'",
                      "\tIn[3]:1: in local 'f'", "\tIn[3]:2: in main chunk" }, e.traceback)
    assert.are.equal("Interrupted", kernel.error_content("interrupted!\nstack traceback:").ename)
    assert.are.equal("Interrupted", kernel.error_content("optim.train: interrupted").ename)
    assert.are.equal("Interrupted", kernel.error_content("In[2]:1: svm.att: interrupted (after 12 iterations)").ename)
    assert.are.equal("LuaError", kernel.error_content("In[2]:1: uninterruptedly wrong").ename)
    assert.are.equal("LuaError", kernel.error_content({}).ename) -- non-string error objects
  end)

  it("utf8_clean replaces bytes that are not UTF-8", function()
    assert.are.equal("αβ", kernel.utf8_clean("αβ"))
    assert.are.equal("a\u{FFFD}b", kernel.utf8_clean("a\xffb"))
    assert.are.equal("x\u{FFFD}", kernel.utf8_clean("x\xce")) -- a character cut in half
  end)

  it("shows a mat as an HTML table, eliding beyond 30 x 20", function()
    local A = mat.zeros(2, 3)
    A[2][3] = 1.5
    local h = display.html(A)
    assert.matches("<p>mat 2x3</p>", h, 1, true)
    assert.are.equal(6, select(2, h:gsub("<td>", "")))
    assert.matches("<td>1.5</td></tr></table>$", h)
    local big = display.html(mat.zeros(40, 25))
    assert.are.equal(30 * 21, select(2, big:gsub("<td>", ""))) -- 20 columns + the … column
    assert.matches("10 more rows", big, 1, true)
    assert.matches("<p>mat 4</p>", display.html(mat.ones(4)), 1, true)
    local h3 = display.html(mat.zeros(6, 2, 2))
    assert.matches("[4]", h3, 1, true)
    assert.matches("2 more", h3, 1, true)
    assert.is_nil(display.html({}))
    assert.is_nil(display.html("x"))
  end)

  it("shows a model as a table of its description", function()
    local m = model.attention{ param = "KQ", v = mat.ones(4), ridge = 0 }
    local h = display.html(m)
    assert.matches("<td>param</td><td>KQ</td>", h, 1, true)
    assert.matches("<td>d</td><td>4</td>", h, 1, true)
  end)

  it("recognizes plot figures", function()
    assert.is_true(display.is_figure(plot.figure{}))
    assert.is_false(display.is_figure({}))
    assert.is_false(display.is_figure(mat.ones(2)))
  end)

  it("inspects a name: type and doc line (Lua comment or docs/*.md)", function()
    sys.setenv("HARDMAX_DOCS", SRC .. "/docs")
    local t = display.inspect("x = mat.zeros(3)", 9)
    assert.matches("^mat.zeros: function\n", t)
    assert.matches("`mat.zeros(d1[, d2[, d3]])`", t, 1, true)
    assert.matches("(docs/mat.md)", t, 1, true)
    -- a method of a userdata value, by any receiver name in the docs
    G.kernel_spec_A = mat.ones(2, 2)
    assert.matches("`A:shape()`", display.inspect("kernel_spec_A:shape", 14), 1, true)
    -- a Lua library function: the --- comment above its definition
    local p = display.inspect("plot.figure", 6)
    assert.matches("plot.figure: function (", p, 1, true)
    assert.matches("plot.figure{title=, xlabel=", p, 1, true)
    -- not a name, unknown names
    assert.is_nil(display.inspect("1 + 2", 1))
    assert.is_nil(display.inspect("no_such_global", 3))
    assert.is_nil(display.inspect("", 0))
    -- no metamethod is called while resolving
    G.kernel_spec_trap = setmetatable({}, { __index = function() error("ran user code") end })
    assert.is_nil(display.inspect("kernel_spec_trap.x", 18))
    sys.setenv("HARDMAX_DOCS", nil)
  end)

  describe("--install-kernel", function()
    local json = require "hardmax.json"
    local tmp = os.tmpname()
    os.remove(tmp)

    local function run(args)
      local ok, _, code = os.execute(q(H) .. " --install-kernel " .. args .. " >/dev/null 2>&1")
      return ok and 0 or code
    end

    it("writes kernel.json under --prefix with host options after --", function()
      assert.are.equal(0, run("--prefix " .. q(tmp) .. " --name hm-spec --display-name 'HM spec' -- --seed 3"))
      local f = assert(io.open(tmp .. "/share/jupyter/kernels/hm-spec/kernel.json"))
      local spec = json.decode(f:read("a"))
      f:close()
      assert.are.same({ "--seed", "3", "--kernel", "{connection_file}" }, { table.unpack(spec.argv, 2) })
      assert.are.equal("HM spec", spec.display_name)
      assert.are.equal("lua", spec.language)
      assert.are.equal("message", spec.interrupt_mode)
    end)

    it("--sandbox installs hardmax-sandbox, started with --sandbox", function()
      assert.are.equal(0, run("--prefix " .. q(tmp) .. " --sandbox -- --threads 2"))
      local f = assert(io.open(tmp .. "/share/jupyter/kernels/hardmax-sandbox/kernel.json"))
      local spec = json.decode(f:read("a"))
      f:close()
      assert.are.same({ "--sandbox", "--threads", "2", "--kernel", "{connection_file}" }, { table.unpack(spec.argv, 2) })
      assert.are.equal("hardmax (sandbox)", spec.display_name)
    end)

    it("uses $JUPYTER_DATA_DIR for --user", function()
      local ok = os.execute("JUPYTER_DATA_DIR=" .. q(tmp .. "/data") .. " " .. q(H) .. " --install-kernel --user >/dev/null")
      assert.is_true(ok)
      assert.is_truthy(io.open(tmp .. "/data/kernels/hardmax/kernel.json"))
    end)

    it("rejects unknown options and bad names with status 2", function()
      assert.are.equal(2, run("--bogus"))
      assert.are.equal(2, run("--prefix"))
      assert.are.equal(2, run("--prefix " .. q(tmp) .. " --name '../x'"))
    end)

    it("--kernel with a missing or incomplete connection file fails with status 1", function()
      local function kernel(file)
        local p = io.popen(q(H) .. " --kernel " .. q(file) .. " 2>&1")
        local out = p:read("a")
        local _, _, code = p:close()
        return code, out
      end
      sys.mkdir_p(tmp)
      local code, out = kernel(tmp .. "/none.json")
      assert.are.equal(1, code)
      assert.matches("kernel: .*none.json: No such file", out)
      local f = assert(io.open(tmp .. "/bad.json", "w"))
      f:write('{"transport": "tcp", "key": "k", "signature_scheme": "hmac-sha256"}')
      f:close()
      code, out = kernel(tmp .. "/bad.json")
      assert.are.equal(1, code)
      assert.matches("^kernel: connection file: 'ip' missing", out)
      f = assert(io.open(tmp .. "/md5.json", "w"))
      f:write('{"transport": "tcp", "ip": "127.0.0.1", "key": "k", "signature_scheme": "hmac-md5"}')
      f:close()
      code, out = kernel(tmp .. "/md5.json")
      assert.are.equal(1, code)
      assert.matches("signature scheme 'hmac-md5' not supported", out, 1, true)
    end)

    teardown(function() os.execute("rm -rf " .. q(tmp)) end)
  end)
end)

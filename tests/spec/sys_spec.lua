-- hardmax.sys: the OS layer of the harness.
require "hardmax"

local sys = require "hardmax.sys"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("sys", function()
  local tmp
  before_each(function()
    tmp = os.tmpname()
    os.remove(tmp)
    sys.mkdir_p(tmp .. "/a/b")
  end)
  after_each(function() os.execute("rm -rf '" .. tmp .. "'") end)

  it("spawns processes without fork, with redirection and environment", function()
    local pid = sys.spawn({ "sh", "-c", 'echo "$HM_X"; echo err >&2; exit 3' },
      { stdout = tmp .. "/o", stderr = tmp .. "/e", env = { HM_X = "hello" } })
    assert.are.same({ "exited", 3 }, { sys.wait(pid) })
    assert.are.equal("hello\n", slurp(tmp .. "/o"))
    assert.are.equal("err\n", slurp(tmp .. "/e"))
    pid = sys.spawn({ "sleep", "5" })
    assert.is_nil(sys.wait(pid, true))
    assert.is_true(sys.kill(pid, sys.SIGKILL))
    assert.are.same({ "signaled", 9 }, { sys.wait(pid) })
    assert.has_error(function() sys.spawn({ "/nonexistent/prog" }) end,
      "sys.spawn: cannot start '/nonexistent/prog': No such file or directory")
    assert.has_error(function() sys.spawn({ "true" }, { stdot = "x" }) end,
      "sys.spawn: unknown option 'stdot' (valid options: stdout, stderr, stdin, env)")
  end)

  it("writes files atomically and lists directories sorted", function()
    sys.write_atomic(tmp .. "/a/f.txt", "one")
    sys.write_atomic(tmp .. "/a/f.txt", "two")
    assert.are.equal("two", slurp(tmp .. "/a/f.txt"))
    assert.are.same({ "b", "f.txt" }, sys.listdir(tmp .. "/a"))
    assert.is_nil((sys.listdir(tmp .. "/nope")))
    assert.has_error(function() sys.write_atomic(tmp .. "/nope/f", "x") end)
    assert.are.same({ type = "file", size = 3, mode = 420 }, sys.stat(tmp .. "/a/f.txt"))
    assert.are.equal("dir", sys.stat(tmp .. "/a").type)
    sys.write_atomic(tmp .. "/a/x", "")
    assert.has_error(function() sys.mkdir_p(tmp .. "/a/x/y") end)
  end)

  it("hashes with SHA-256", function()
    assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sys.sha256("abc"))
    sys.write_atomic(tmp .. "/h", "abc")
    assert.are.equal(sys.sha256("abc"), sys.sha256_file(tmp .. "/h"))
  end)

  it("reports host facts and clocks", function()
    assert.is_string(sys.hostname())
    assert.is_true(#sys.hostname() > 0)
    assert.is_boolean(sys.isatty(2))
    local t0 = sys.clock()
    sys.sleep(0.01)
    assert.is_true(sys.clock() - t0 >= 0.009)
    assert.is_true(sys.time() > 1.6e9)
    assert.truthy(sys.exe():match("^/"))
    assert.are.equal(sys.realpath(tmp), sys.realpath(tmp .. "/a/.."))
    assert.are.equal("integer", math.type(sys.getpid()))
  end)

  it("getcwd, writable and sync", function()
    assert.are.equal(sys.realpath("."), sys.getcwd())
    assert.is_true(sys.writable(tmp .. "/a/b"))
    assert.is_false(sys.writable(tmp .. "/missing/dir"))
    assert.are.equal(0, select("#", sys.sync()))
    assert.has_error(function() sys.writable() end)
  end)

  it("cpu() counts this process and its waited-for children", function()
    local c0, wall0 = sys.cpu(), sys.clock()
    -- the child burns 0.3 s of CPU while this process only waits for it
    local pid = sys.spawn({sys.exe(), "-e", "local t = os.clock() while os.clock() - t < 0.3 do end"})
    assert.are.same({"exited", 0}, {sys.wait(pid)})
    local used = sys.cpu() - c0
    assert.is_true(used >= 0.25, "cpu grew by " .. used)
    assert.is_true(used <= (sys.clock() - wall0) + 0.05)
  end)
end)

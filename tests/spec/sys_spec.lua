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

  it("names temporaries uniquely, publishes without replacing, and leaves nothing on failure", function()
    local p = tmp .. "/a/r.json"
    assert.is_true(sys.write_atomic(p, "first", { fsync = false, replace = false }))
    assert.is_false(sys.write_atomic(p, "second", { replace = false }))
    assert.are.equal("first", slurp(p))
    assert.is_true(sys.write_atomic(p, "third", { replace = true }))
    assert.are.equal("third", slurp(p))
    -- a leftover temporary of a killed writer (even one that reused our pid) never blocks a write
    local f = assert(io.open(p .. ".tmp." .. sys.getpid() .. ".0", "wb"))
    f:close()
    sys.write_atomic(p, "fourth")
    assert.are.equal("fourth", slurp(p))
    assert.are.same({ "b", "r.json", "r.json.tmp." .. sys.getpid() .. ".0" }, sys.listdir(tmp .. "/a"))
    assert.has_error(function() sys.write_atomic(p, "x", { replce = false }) end,
      "sys.write_atomic: unknown option 'replce' (valid options: fsync, replace)")
    assert.are.same({ "b", "r.json", "r.json.tmp." .. sys.getpid() .. ".0" }, sys.listdir(tmp .. "/a"))
  end)

  it("tells files of live processes from dead ones by lock (lock_create, lock_open, remove_dead)", function()
    local lock, path = sys.lock_create(tmp .. "/a/run-", ".lock")
    assert.truthy(path:match("/a/run%-%x+%.lock$"), path)
    assert.are.equal(path, lock:path())
    local lock2, path2 = sys.lock_create(tmp .. "/a/run-", ".lock")
    assert.are_not.equal(path, path2)
    -- held (also against a probe from this very process: the lock belongs to the open file)
    assert.is_false(sys.lock_open(path, false))
    assert.is_false(sys.remove_dead(path))
    assert.truthy(sys.stat(path))
    lock:release()
    lock:release() -- idempotent
    local again = sys.lock_open(path, false)
    assert.truthy(again)
    again:remove()
    assert.is_nil(sys.stat(path))
    assert.has_error(function() again:remove() end, "lock:remove: the lock was already released")
    -- a child process holds the lock while it lives; its death frees it
    local pid = sys.spawn({ sys.exe(), "-e", ("local l = require('hardmax.sys').lock_open(%q, true) " ..
      "io.open(%q, 'w'):close() require('hardmax.sys').sleep(5)"):format(path2, tmp .. "/ready") })
    lock2:release()
    local t0 = sys.clock()
    while not sys.stat(tmp .. "/ready") and sys.clock() - t0 < 5 do sys.sleep(0.01) end
    assert.is_false(sys.remove_dead(path2))
    sys.kill(pid, sys.SIGKILL)
    sys.wait(pid)
    assert.is_true(sys.remove_dead(path2))
    local gone, msg = sys.remove_dead(path2)
    assert.is_nil(gone)
    assert.truthy(msg:find("No such file", 1, true), msg)
    assert.is_nil((sys.lock_open(path2, false)))
    assert.has_error(function() sys.lock_create(tmp .. "/missing/run-") end)
  end)

  it("makes private temporary directories and arms die_with_parent", function()
    local d1, d2 = sys.mkdtemp(tmp .. "/t-"), sys.mkdtemp(tmp .. "/t-")
    assert.are_not.equal(d1, d2)
    assert.are.equal("dir", sys.stat(d1).type)
    assert.are.equal(448, sys.stat(d1).mode) -- 0700
    assert.has_error(function() sys.mkdtemp(tmp .. "/missing/t-") end)
    -- a child that outlives its parent (sh, which exits after 0.1 s) is killed when armed
    local child = tmp .. "/child.lua"
    local f = assert(io.open(child, "w"))
    f:write([[
local sys = require "hardmax.sys"
if arg[2] == "arm" then assert(sys.die_with_parent(tonumber(arg[1]))) end
sys.sleep(0.3)
io.open(arg[3], "w"):close()
]])
    f:close()
    for _, mode in ipairs({ "arm", "no" }) do
      local mark = tmp .. "/wrote-" .. mode
      local pid = sys.spawn({ "sh", "-c", '"$1" "$2" $$ "$3" "$4" & sleep 0.1', "sh", sys.exe(), child, mode, mark })
      sys.wait(pid)
      local t0 = sys.clock()
      while not sys.stat(mark) and sys.clock() - t0 < 1 do sys.sleep(0.02) end
      if mode == "arm" then assert.is_nil(sys.stat(mark)) else assert.truthy(sys.stat(mark)) end
    end
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
    -- (one BLAS thread: OpenBLAS's idle threads would spin and add CPU beyond the wall time)
    local pid = sys.spawn({sys.exe(), "-e", "local t = os.clock() while os.clock() - t < 0.3 do end"},
                          {env = {OPENBLAS_NUM_THREADS = "1"}})
    assert.are.same({"exited", 0}, {sys.wait(pid)})
    local used = sys.cpu() - c0
    assert.is_true(used >= 0.25, "cpu grew by " .. used)
    assert.is_true(used <= (sys.clock() - wall0) + 0.05)
  end)
end)

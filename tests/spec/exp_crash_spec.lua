-- hardmax.exp after crashes (issue 17): sweeps and their workers killed at random moments,
-- inside writes and in fresh PID namespaces, then resumed. Whatever the kill times, a resume
-- must succeed and leave results byte-identical to an uninterrupted run, every trial exactly
-- once, no temporary and no .work entry, no finished trial file rewritten, and a manifest
-- that lists what it cleaned. Randomised kill times, deterministic verdict: the seed is
-- printed (HARDMAX_CRASH_SEED=<seed> repeats a run).
require "hardmax"

local sys = require "hardmax.sys"
local json = require "hardmax.json"
local work = require "hardmax.exp_work"

local HARDMAX = sys.realpath(os.getenv("HARDMAX") or "build/hardmax") or "hardmax"

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- two sweeps, so workers of the second also replay the first (they must not write there);
-- each trial does a fixed amount of work (~2 ms) so that kills land between and inside trials
local SCRIPT = [[
local o = exp.args(arg, { out = "out", seed = 5 })
local function run(cfg, r, g)
  local x = 0
  for i = 1, 150000 do x = x + i % 7 end
  return { loss = g:uniform() * cfg.a, x = x, path = { g:normal(), g:normal() } }
end
exp.sweep { grid = { a = { 1, 2 } }, runs = 2, seed = o.seed, out = o.out .. "/first",
  workers = o.jobs, resume = o.resume, run = run }
local res = exp.sweep { grid = { a = { 1, 2, 3, 4 }, b = { 0.5, 0.25 } }, runs = 3, seed = o.seed,
  out = o.out .. "/second", workers = o.jobs, resume = o.resume, run = run }
print("trials", #res, "failed", #res.failed)
]]
local SWEEPS = { "first", "second" }

local function unshare_ok()
  local ok = os.execute("unshare --pid --fork --mount-proc --kill-child true >/dev/null 2>&1")
  return ok == true or ok == 0
end

-- start the script in dir (optionally in a new PID namespace); returns the pid to kill/wait
local function start(dir, args, opts)
  opts = opts or {}
  local argv = { "/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", dir }
  if opts.pidns then
    for _, a in ipairs({ "unshare", "--pid", "--fork", "--mount-proc", "--kill-child" }) do argv[#argv + 1] = a end
  end
  argv[#argv + 1] = HARDMAX
  argv[#argv + 1] = dir .. "/crash.lua"
  for a in args:gmatch("%S+") do argv[#argv + 1] = a end
  local log = dir .. "/run.log"
  return sys.spawn(argv, { stdout = log, stderr = log, stdin = "/dev/null",
    env = { HARDMAX_TEST_EXIT_IN_WRITE = opts.exit_in_write or false, HARDMAX_EXP_WORKER = false,
      HARDMAX_EXP_VERIFY = false, OPENBLAS_NUM_THREADS = "1" } }), log
end

-- pids of the live processes running this directory's script (also inside other namespaces)
local function script_pids(dir)
  local pids = {}
  local needle = dir .. "/crash.lua"
  for _, name in ipairs(sys.listdir("/proc") or {}) do
    if name:match("^%d+$") then
      local cmd = slurp("/proc/" .. name .. "/cmdline")
      if cmd and cmd:find(needle, 1, true) then pids[#pids + 1] = tonumber(name) end
    end
  end
  return pids
end

-- does another process still hold a file below dir open (and so, maybe, its lock)? An
-- exiting process loses its command line (exit_mm) before its files (exit_files).
local function files_held(dir)
  local p = io.popen(("find /proc/[0-9]*/fd -maxdepth 1 -lname '%s/*' ! -path '/proc/%d/*' 2>/dev/null | head -n 1")
    :format(dir, sys.getpid()))
  local s = p:read("a")
  p:close()
  return s ~= ""
end

-- a killed sweep's workers die with it (PR_SET_PDEATHSIG) but not instantly: resume after
-- the crash is over, as a user does
local function wait_gone(dir)
  local t0 = sys.clock()
  while #script_pids(dir) > 0 or files_held(dir) do
    assert(sys.clock() - t0 < 10, "processes of a killed sweep still run after 10 s")
    sys.sleep(0.005)
  end
end

local function run_to_end(dir, args, opts)
  local pid, log = start(dir, args, opts)
  local how, code = sys.wait(pid)
  wait_gone(dir)
  return how == "exited" and code or -1, slurp(log) or ""
end

-- every file below dir (relative paths, sorted), and their inode numbers
local function tree(dir, rel, into)
  into = into or {}
  for _, name in ipairs(sys.listdir(dir .. (rel ~= "" and "/" .. rel or "")) or {}) do
    local r = rel ~= "" and rel .. "/" .. name or name
    local st = sys.stat(dir .. "/" .. r)
    if st and st.type == "dir" then tree(dir, r, into) else into[#into + 1] = r end
  end
  table.sort(into)
  return into
end

local function inodes(dir)
  local p = io.popen("stat -c '%n %i' " .. dir .. "/*.json 2>/dev/null")
  local m = {}
  for line in p:read("a"):gmatch("[^\n]+") do
    local n, i = line:match("^(%S+) (%d+)$")
    m[n] = i
  end
  p:close()
  return m
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function leftovers(root)
  local l = {}
  for _, f in ipairs(tree(root, "")) do
    if f:find("%.work/") or f:find("%.work$") or work.is_temporary(f:match("[^/]+$")) then l[#l + 1] = f end
  end
  return l
end

describe("exp after crashes", function()
  local tmp, ref
  local seed = tonumber(os.getenv("HARDMAX_CRASH_SEED") or "") or (os.time() % 100000)
  math.randomseed(seed)
  local pidns = unshare_ok()

  setup(function()
    tmp = os.tmpname()
    os.remove(tmp)
    sys.mkdir_p(tmp)
    io.stderr:write(("exp_crash_spec: seed %d (HARDMAX_CRASH_SEED=%d repeats it)\n"):format(seed, seed))
    if not pidns then
      io.stderr:write("exp_crash_spec: skipping the PID-namespace resumes: 'unshare --pid --fork " ..
        "--mount-proc' is unavailable here (needs root or user namespaces)\n")
    end
    ref = tmp .. "/ref"
    sys.mkdir_p(ref)
    spit(ref .. "/crash.lua", SCRIPT)
    local rc, out = run_to_end(ref, "--out o")
    assert(rc == 0, out)
  end)
  teardown(function() if tmp then os.execute("rm -rf '" .. tmp .. "'") end end)

  local function newdir(name)
    local d = tmp .. "/" .. name
    sys.mkdir_p(d)
    spit(d .. "/crash.lua", SCRIPT)
    return d
  end

  -- the final resume and everything the issue asks of it
  local function resume_and_check(d, opts)
    local root = d .. "/o"
    local before = set_of(leftovers(root))
    local ino = {}
    for _, s in ipairs(SWEEPS) do ino[s] = inodes(root .. "/" .. s .. "/trials") end
    local rc, out = run_to_end(d, "--out o --resume --jobs " .. (opts.jobs or 2), { pidns = opts.pidns })
    assert.are.equal(0, rc, out)
    local cleaned = {}
    for _, s in ipairs(SWEEPS) do
      local dir = root .. "/" .. s
      assert.are.equal(slurp(ref .. "/o/" .. s .. "/results.jsonl"), slurp(dir .. "/results.jsonl"))
      assert.are.equal(slurp(ref .. "/o/" .. s .. "/summary.json"), slurp(dir .. "/summary.json"))
      -- each trial exactly once: the same trial files as the reference, one line per key
      assert.are.same(tree(ref .. "/o/" .. s .. "/trials", ""), tree(dir .. "/trials", ""))
      local keys = {}
      for line in slurp(dir .. "/results.jsonl"):gmatch("[^\n]+") do
        local k = json.decode(line).key
        assert.is_nil(keys[k], "duplicate " .. k)
        keys[k] = true
      end
      -- finished trial files are never rewritten (same inode)
      local now = inodes(dir .. "/trials")
      for f, i in pairs(ino[s]) do assert.are.equal(i, now[f], f .. " was rewritten") end
      local m = json.decode(slurp(dir .. "/manifest.json"))
      assert.are.equal("finished", m.status)
      for _, c in ipairs(m.cleaned or {}) do cleaned[s .. "/" .. c] = true end
    end
    -- no temporary, no .work; the manifests name exactly the leftovers that were there
    assert.are.same({}, leftovers(root))
    assert.are.same(before, cleaned)
    return before
  end

  it("heals what a kill inside a write leaves, also resumed in a new PID namespace", function()
    -- the sweeping process dies inside its first write (the manifest of the first sweep):
    -- the leftover the issue's resume tripped over, then the same inside a worker's write
    local d = newdir("inwrite")
    local rc = run_to_end(d, "--out o", { exit_in_write = "1", pidns = pidns })
    assert.are_not.equal(0, rc)
    local l = leftovers(d .. "/o")
    assert.are.equal(1, #l)
    assert.truthy(l[1]:match("^first/manifest%.json%.tmp%.%x+$"), l[1])
    rc = run_to_end(d, "--out o --resume --jobs 2", { exit_in_write = "w3", pidns = pidns })
    assert.are_not.equal(0, rc)
    local kinds = {}
    for _, f in ipairs(leftovers(d .. "/o")) do
      if f:match("^first/manifest") then kinds.manifest = true end
      if f:match("/trials/%x+%.json%.tmp%.%x+$") then kinds.trial = true end
      if f:match("/%.work/run%-%x+/sweep%d%-worker%d%.log$") then kinds.log = true end
    end
    assert.are.same({ trial = true, log = true }, kinds) -- the first resume cleaned the manifest's
    resume_and_check(d, { pidns = pidns, jobs = 3 })
  end)

  it("tells a live writer's temporary and a live sweep's .work from dead ones by lock, not pid", function()
    local d = newdir("live")
    assert.are_not.equal(0, (run_to_end(d, "--out o --jobs 2", { exit_in_write = "w2" })))
    local trials = d .. "/o/second/trials"
    sys.mkdir_p(trials)
    -- a live writer (this process holds the lock) and a live sweep's worker bookkeeping
    local writer, tmpname = sys.lock_create(trials .. "/0123456789abcdef01234567.json.tmp.", "")
    local live = work.open(d .. "/o/second")
    spit(live.dir .. "/sweep2-worker1.log", "live\n")
    -- leftovers of hardmax before this fix: pid-named temporaries and the flat .work layout
    spit(trials .. "/0123456789abcdef01234567.json.tmp.2.0", "x")
    spit(d .. "/o/second/.work/sweep2-worker2.log", "old\n")
    -- files that only look like temporaries are somebody's data
    spit(d .. "/o/second/model.tmp.npy", "data")
    spit(trials .. "/notes.tmp.abcdef", "data")
    spit(trials .. "/notes.tmp.0123456789abcdef0", "data")
    local rc, out = run_to_end(d, "--out o --resume")
    assert.are.equal(0, rc, out)
    assert.truthy(sys.stat(tmpname), "a live writer's temporary was removed")
    assert.truthy(sys.stat(live.dir .. "/sweep2-worker1.log"), "a live sweep's .work was removed")
    for _, f in ipairs({ "/model.tmp.npy", "/trials/notes.tmp.abcdef", "/trials/notes.tmp.0123456789abcdef0" }) do
      assert.are.equal("data", slurp(d .. "/o/second" .. f))
    end
    local m = json.decode(slurp(d .. "/o/second/manifest.json"))
    local c = set_of(m.cleaned)
    assert.is_true(c["trials/0123456789abcdef01234567.json.tmp.2.0"])
    assert.is_true(c[".work/sweep2-worker2.log"])
    for name in pairs(c) do
      assert.is_nil(name:find(tmpname:match("[^/]+$"), 1, true))
      assert.is_nil(name:find(live.dir:match("[^/]+$") .. "/", 1, true))
    end
    -- once they end, merge removes them too, and says so
    writer:release()
    live.lock:release()
    rc, out = (function()
      local p = io.popen(("%s merge %s/o/second 2>&1; echo rc=$?"):format(HARDMAX, d))
      local s = p:read("a")
      p:close()
      return tonumber(s:match("rc=(%d+)")), s
    end)()
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("removed 3 leftovers", 1, true), out)
    assert.are.same({}, leftovers(d .. "/o"))
    assert.are.equal("data", slurp(d .. "/o/second/model.tmp.npy"))
    assert.are.equal(slurp(ref .. "/o/second/results.jsonl"), slurp(d .. "/o/second/results.jsonl"))
  end)

  it("survives kills of workers and whole runs at random moments", function()
    local rounds = 5
    for r = 1, rounds do
      local d = newdir("random" .. r)
      local crashes = math.random(1, 3)
      local story = {}
      for c = 1, crashes do
        local jobs = math.random(1, 3)
        local args = "--out o --jobs " .. jobs .. (c > 1 and " --resume" or "")
        local mode = math.random(1, 3)
        local ns = pidns and math.random(1, 2) == 1
        if mode == 1 then
          -- inside the n-th write of some process
          local n = (math.random(1, 2) == 1 and "w" or "") .. math.random(1, 8)
          story[#story + 1] = ("exit in write %s, jobs %d%s"):format(n, jobs, ns and ", pidns" or "")
          run_to_end(d, args, { exit_in_write = n, pidns = ns })
        else
          -- SIGKILL after a random delay: the whole run (mode 2) or one of its processes
          local pid = start(d, args, { pidns = ns })
          local delay = math.random() * 0.4
          sys.sleep(delay)
          local victim = pid
          if mode == 3 then
            local ps = script_pids(d)
            if #ps > 0 then victim = ps[math.random(1, #ps)] end
          end
          story[#story + 1] = ("SIGKILL %s after %.3f s, jobs %d%s"):format(victim == pid and "run" or "a process",
            delay, jobs, ns and ", pidns" or "")
          sys.kill(victim, sys.SIGKILL)
          sys.wait(pid)
          wait_gone(d)
        end
      end
      local ok, err = pcall(resume_and_check, d, { jobs = math.random(1, 3), pidns = pidns and math.random(1, 2) == 1 })
      assert(ok, ("round %d (%s): %s"):format(r, table.concat(story, "; "), tostring(err)))
    end
  end)
end)

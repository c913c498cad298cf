-- hardmax.exp: sweeps (determinism across workers, shards and resumes), atomic results,
-- manifests, merge/verify, summaries, writers, script arguments.
require "hardmax"

local exp = require "hardmax.exp"
local json = require "hardmax.json"
local sys = require "hardmax.sys"

local HARDMAX = sys.realpath(os.getenv("HARDMAX") or "build/hardmax") or "hardmax"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)\n$"))
  return rc, out:gsub("rc=%d+\n$", "")
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local tmp
local function newtmp()
  tmp = os.tmpname()
  os.remove(tmp)
  sys.mkdir_p(tmp)
  return tmp
end
local function cleanup()
  if tmp then os.execute("rm -rf '" .. tmp .. "'") end
end

-- a sweep script driven by the tests; KILL_AT=<key> SIGKILLs the process running that trial
local SCRIPT = [[
local sys = require "hardmax.sys"
local o = exp.args(arg, { runs = 3, out = "out", seed = 11, big = false })
local grid = { d = { 2, 3 }, eta = { 0.5, 0.25 } }
if o.big then grid.d = { 2, 3, 4 } end
local res = exp.sweep { grid = grid, runs = o.runs, seed = o.seed, out = o.out, workers = o.jobs,
  shard = o.shard, resume = o.resume,
  run = function(cfg, run, g)
    if os.getenv("KILL_AT") == exp.trial_key({ d = cfg.d, eta = cfg.eta }, run) then
      sys.kill(sys.getpid(), sys.SIGKILL)
    end
    local s = 0
    for _ = 1, cfg.d do s = s + g:uniform() end
    return { loss = s * cfg.eta, sq = cfg.d * cfg.d, path = { s, s / 3 } }
  end }
print("trials", #res, "failed", #res.failed)
]]

describe("exp", function()
  after_each(cleanup)

  describe("trial keys", function()
    it("are canonical: sorted names, integral floats as integers, escaped strings", function()
      assert.are.equal("a=1;b=0.10000000000000001;c=x%3Dy;run=3", exp.trial_key({ c = "x=y", b = 0.1, a = 1.0 }, 3))
      assert.are.equal("run=1", exp.trial_key({}, 1))
      assert.are.equal("flag=true;run=2", exp.trial_key({ flag = true }, 2))
    end)
  end)

  describe("sweep (in process)", function()
    it("runs grid x runs with per-trial generators that do not depend on the grid", function()
      local function run(cfg, r, g) return { u = g:uniform(), d = cfg.d, r = r } end
      local a = exp.sweep { grid = { d = { 1, 2 } }, runs = 2, seed = 5, run = run, quiet = true }
      assert.are.equal(4, #a)
      assert.are.same({ d = 1 }, a[1].params)
      assert.are.equal(1, a[1].run)
      assert.are.equal(2, a[4].metrics.r)
      -- the same trial in a larger grid gets the same generator
      local b = exp.sweep { grid = { d = { 0, 1, 2, 3 } }, runs = 3, seed = 5, run = run, quiet = true }
      local byk = {}
      for _, t in ipairs(b) do byk[t.key] = t.metrics.u end
      for _, t in ipairs(a) do assert.are.equal(t.metrics.u, byk[t.key]) end
      -- the generator is rng.new(seed):split(key)
      local rng = require "hardmax.rng"
      assert.are.equal(rng.new(5):split("d=2;run=1"):uniform(), byk["d=2;run=1"])
      -- a different master seed changes the draws
      local c = exp.sweep { grid = { d = { 1, 2 } }, runs = 2, seed = 6, run = run, quiet = true }
      assert.are_not.equal(a[1].metrics.u, c[1].metrics.u)
    end)

    it("records failing trials with error and traceback and continues", function()
      local res = exp.sweep { grid = { d = { 1, 2 } }, runs = 2, quiet = true, run = function(cfg, r)
        if cfg.d == 2 and r == 1 then error("diverged") end
        if cfg.d == 1 and r == 2 then return cfg.typo end
        return { x = 1 }
      end }
      assert.are.equal(4, #res)
      assert.are.equal(2, #res.failed)
      local f1 = res.failed[1]
      assert.are.equal("d=1;run=2", f1.key)
      assert.truthy(f1.error:find("trial config has no parameter 'typo' (grid parameters: d)", 1, true))
      assert.are.equal("failed", res[3].status)
      assert.truthy(res[3].error:find("diverged", 1, true))
      assert.truthy(res[3].traceback:find("stack traceback", 1, true))
      assert.are.equal("ok", res[4].status)
    end)

    it("rejects bad options, grids and shard specs with clear messages", function()
      local run = function() return {} end
      assert.has_error(function() exp.sweep { grid = {}, run = run, worker = 2 } end,
        "exp.sweep: unknown option 'worker' (valid options: fresh, grid, jobs, out, progress, quantiles, quiet, resume, run, runs, seed, shard, workers)")
      assert.has_error(function() exp.sweep { grid = { d = {} }, run = run } end,
        "exp.sweep: option 'grid': 'd' must be a non-empty array of values, got an empty table")
      assert.has_error(function() exp.sweep { grid = { run = { 1 } }, run = run } end,
        "exp.sweep: option 'grid': 'run' is reserved (trials have their own run)")
      assert.has_error(function() exp.sweep { grid = { d = { 1, 1 } }, run = run } end,
        "exp.sweep: option 'grid': d[2] repeats the value 1")
      assert.has_error(function() exp.sweep { grid = { d = { {} } }, run = run } end)
      assert.has_error(function() exp.sweep { grid = {}, run = run, runs = 0 } end,
        "exp.sweep: option 'runs': positive integer expected, got 0")
      assert.has_error(function() exp.sweep { grid = {}, run = 5 } end,
        "exp.sweep: option 'run': function(cfg, run, g) expected, got number")
      for _, bad in ipairs { "0/2", "3/2", "1-2", "a/b", "1/0" } do
        assert.has_error(function() exp.sweep { grid = {}, run = run, shard = bad } end,
          "exp.sweep: option 'shard': expected 'i/N' with 1 <= i <= N (e.g. '2/4'), got '" .. bad .. "'")
      end
    end)

    it("refuses an unusable output directory and keeps existing results", function()
      local d = newtmp()
      spit(d .. "/file", "x")
      assert.has_error(function()
        exp.sweep { grid = {}, run = function() return {} end, out = d .. "/file/sub", quiet = true }
      end)
      local ok, err = pcall(exp.sweep, { grid = {}, run = function() return {} end, out = d .. "/file/sub", quiet = true })
      assert.is_false(ok)
      assert.truthy(err:find("exp.sweep: cannot create output directory '" .. d .. "/file/sub'", 1, true))
      -- rerunning into a finished directory without resume is an error; nothing is touched
      local out = d .. "/res"
      exp.sweep { grid = { d = { 1 } }, runs = 2, run = function(_, r) return { r = r } end, out = out, quiet = true }
      local before = slurp(out .. "/results.jsonl")
      assert.has_error(function()
        exp.sweep { grid = { d = { 1 } }, runs = 2, run = function() return { r = 0 } end, out = out, quiet = true }
      end)
      assert.are.equal(before, slurp(out .. "/results.jsonl"))
      -- a different sweep in the same directory is refused even with resume
      local ok2, err2 = pcall(exp.sweep, { grid = { d = { 1, 2 } }, runs = 2, run = function() return {} end,
        out = out, resume = true, quiet = true })
      assert.is_false(ok2)
      assert.truthy(err2:find("holds a different sweep", 1, true))
      -- resume of a complete sweep runs nothing
      local calls = 0
      local res = exp.sweep { grid = { d = { 1 } }, runs = 2, run = function() calls = calls + 1 return {} end,
        out = out, resume = true, quiet = true }
      assert.are.equal(0, calls)
      assert.are.equal(2, #res)
      assert.are.equal(1, res[1].metrics.r)
    end)

    it("writes one JSON line per trial, a summary and a manifest", function()
      local d = newtmp()
      local res = exp.sweep { grid = { n = { 10, 20 } }, runs = 4, seed = 3, out = d, quiet = true,
        run = function(cfg, r) return { x = r + 0.5, n = cfg.n } end }
      assert.are.equal(d, res.dir)
      local lines = {}
      for l in slurp(d .. "/results.jsonl"):gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal(8, #lines)
      assert.are.equal('{"key":"n=10;run=1","metrics":{"n":10,"x":1.5},"params":{"n":10},"run":1,"status":"ok"}', lines[1])
      assert.are.equal(8, #sys.listdir(d .. "/trials"))
      local m = json.decode(slurp(d .. "/manifest.json"))
      assert.are.equal(3, m.seed)
      assert.are.equal("finished", m.status)
      assert.are.equal(8, m.trials)
      assert.are.equal(sys.hostname(), m.hostname)
      assert.truthy(m.lua:find("Lua 5.4", 1, true))
      assert.is_string(m.hardmax.version)
      assert.is_string(m.hardmax.git_commit)
      assert.truthy(m.openblas.config:find("OpenBLAS", 1, true))
      assert.are.equal(require("hardmax").config().threads, m.openblas.threads)
      assert.truthy(m.start_time:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"))
      assert.truthy(m.end_time:match("^%d%d%d%d%-%d%d%-%d%dT"))
      assert.are.same({ n = { 10, 20 } }, m.grid)
      assert.is_table(m.command_line)
      local s = json.decode(slurp(d .. "/summary.json"))
      assert.are.equal(4, #s) -- 2 grid points x 2 metrics
    end)
  end)

  describe("summary", function()
    it("computes n, mean, sample std, min/max and interpolated quantiles per grid point", function()
      local res = exp.sweep { grid = { a = { 1, 2 } }, runs = 4, quiet = true,
        run = function(cfg, r) return { v = r * cfg.a, name = "x", bad = r == 1 and 0 / 0 or 1.0 } end }
      local rows = exp.summary(res, { quantiles = { 0.5, 0.9 } })
      assert.are.equal(4, #rows)
      local r = rows[2] -- a=1, metric v
      assert.are.equal("v", r.metric)
      assert.are.same({ a = 1 }, r.params)
      assert.are.equal(4, r.n)
      assert.are.equal(2.5, r.mean)
      assert.are.equal(math.sqrt(5 / 3), r.std)
      assert.are.equal(1, r.min)
      assert.are.equal(4, r.max)
      assert.are.equal(2.5, r.quantiles[1].value)
      assert.is_true(math.abs(r.quantiles[2].value - 3.7) < 1e-12)
      assert.are.equal("bad", rows[1].metric)
      assert.are.equal(3, rows[1].n)
      assert.are.equal(1, rows[1].nonfinite)
      assert.are.equal(8.0, rows[4].max)
      assert.are.equal(0.5, exp.quantile({ 3, 1, 0, 2 }, 1 / 6))
      local buf = {}
      exp.print_summary(rows, { file = { write = function(_, ...) for _, s in ipairs { ... } do buf[#buf + 1] = s end end } })
      local text = table.concat(buf)
      assert.truthy(text:find("params%s+metric%s+n%s+mean%s+std%s+min%s+q50%s+q90%s+max%s+failed"))
      assert.truthy(text:find("a=1%s+v%s+4%s+2.5%s+1.29099"))
    end)
  end)

  describe("curves", function()
    it("averages array metrics element-wise per grid point", function()
      local res = exp.sweep { grid = { a = { 1, 2 } }, runs = 3, quiet = true,
        run = function(cfg, r) return { c = { r * cfg.a, 10.0 } } end }
      local rows = exp.curves(res, "c")
      assert.are.equal(2, #rows)
      assert.are.same({ a = 2 }, rows[2].params)
      assert.are.equal(3, rows[2].n)
      assert.are.same({ 4.0, 10.0 }, rows[2].mean)
      assert.are.same({ 2.0, 0.0 }, rows[2].std)
      assert.has_error(function() exp.curves(res, "nope") end,
        "exp.curves: trial a=1;run=1: metric 'nope' is not an array (got nil)")
    end)
  end)

  describe("writers", function()
    it("write_csv quotes per RFC 4180 and flattens nested tables", function()
      local d = newtmp()
      exp.write_csv(d .. "/t.csv", { { a = 1, b = "x,y", p = { n = 2 } }, { a = 0.5, b = 'q"r' } })
      assert.are.equal('a,b,p.n\r\n1,"x,y",2\r\n0.5,"q""r",\r\n', slurp(d .. "/t.csv"))
      exp.write_csv(d .. "/u.csv", { { a = 1, b = 2 } }, { columns = { "b", "a" } })
      assert.are.equal("b,a\r\n2,1\r\n", slurp(d .. "/u.csv"))
      assert.has_error(function() exp.write_csv(d .. "/v.csv", { { a = print } }) end,
        "exp.write_csv: column 'a': exp.write_csv: cells must be numbers, strings or booleans, got function")
      assert.has_error(function() exp.write_csv(d .. "/v.csv", {}, { cols = {} }) end,
        "exp.write_csv: unknown option 'cols' (valid options: columns)")
    end)

    it("write_json writes sorted %.17g JSON atomically", function()
      local d = newtmp()
      exp.write_json(d .. "/a.json", { b = 0.1, a = { 1, 2 } })
      assert.are.equal('{"a":[1,2],"b":0.10000000000000001}\n', slurp(d .. "/a.json"))
      assert.are.same({ "a.json" }, sys.listdir(d))
    end)
  end)

  describe("args", function()
    it("coerces types from the defaults and knows jobs/shard/resume", function()
      local o = exp.args({ [0] = "s.lua", "--runs", "5", "--eta=0.5", "--name", "x", "--plot", "--no-verbose", "--jobs", "2" },
        { runs = 100, eta = 0.1, name = "a", plot = false, verbose = true, out = "out/x" })
      assert.are.same({ runs = 5, eta = 0.5, name = "x", plot = true, verbose = false, out = "out/x",
        jobs = 2, shard = "", resume = false }, o)
      assert.are.equal("integer", math.type(o.runs))
      assert.are.equal("float", math.type(o.eta))
      local o2 = exp.args({ "--max-iters", "7", "--resume", "--shard", "2/3" }, { max_iters = 1 })
      assert.are.equal(7, o2.max_iters)
      assert.is_true(o2.resume)
      assert.are.equal("2/3", o2.shard)
    end)

    it("rejects unknown keys, bad values and positional arguments", function()
      assert.has_error(function() exp.args({ "--itres", "3" }, { iters = 1 }) end,
        "exp.args: unknown option '--itres' (valid options: --iters, --jobs, --resume, --shard)")
      assert.has_error(function() exp.args({ "--iters", "3.5" }, { iters = 1 }) end,
        "exp.args: option '--iters': integer expected, got '3.5'")
      assert.has_error(function() exp.args({ "--iters" }, { iters = 1 }) end,
        "exp.args: option '--iters' needs a value")
      assert.has_error(function() exp.args({ "foo" }, {}) end,
        "exp.args: unexpected argument 'foo' (options are --name value; try --help)")
      assert.has_error(function() exp.args({ "--shard", "5/2" }, {}) end,
        "exp.args: option 'shard': expected 'i/N' with 1 <= i <= N (e.g. '2/4'), got '5/2'")
      assert.has_error(function() exp.args({ "--jobs", "0" }, {}) end,
        "exp.args: option '--jobs': positive integer expected, got 0")
    end)

    it("--help prints the options and exits 0", function()
      local d = newtmp()
      spit(d .. "/h.lua", 'exp.args(arg, {iters = 2000, lr = 0.5, tag = "a"})\nprint("not reached")\n')
      local rc, out = sh(HARDMAX .. " " .. d .. "/h.lua --help")
      assert.are.equal(0, rc)
      assert.truthy(out:find("--iters INT", 1, true))
      assert.truthy(out:find("(default: 2000)", 1, true))
      assert.truthy(out:find("--resume", 1, true))
      assert.is_nil(out:find("not reached", 1, true))
    end)
  end)

  describe("processes (workers, shards, resume, merge, verify)", function()
    local function setup()
      local d = newtmp()
      spit(d .. "/sweep.lua", SCRIPT)
      return d
    end
    local function run(d, args, env)
      return sh(string.format("cd '%s' && %s %s sweep.lua %s", d, env or "", HARDMAX, args))
    end

    it("gives byte-identical results with 1 and 2 workers and with 2 or 3 shards", function()
      local d = setup()
      local rc, out = run(d, "--out r1")
      assert.are.equal(0, rc, out)
      assert.truthy(out:find("trials\t12\tfailed\t0", 1, true))
      rc, out = run(d, "--out r2 --jobs 2")
      assert.are.equal(0, rc, out)
      local ref = slurp(d .. "/r1/results.jsonl")
      assert.are.equal(12, select(2, ref:gsub("\n", "")))
      assert.are.equal(ref, slurp(d .. "/r2/results.jsonl"))
      assert.are.equal(2, json.decode(slurp(d .. "/r2/manifest.json")).workers)
      -- shards into one directory (shared file system) and into separate directories
      assert.are.equal(0, (run(d, "--out r3 --shard 2/2 --jobs 2")))
      assert.are.equal(0, (run(d, "--out r3 --shard 1/2")))
      assert.is_nil(io.open(d .. "/r3/results.jsonl"))
      assert.truthy(io.open(d .. "/r3/manifest-shard-1-of-2.json"))
      assert.are.equal(0, exp.cli("merge", d .. "/r3"))
      assert.are.equal(ref, slurp(d .. "/r3/results.jsonl"))
      for i = 3, 1, -1 do assert.are.equal(0, (run(d, "--out s" .. i .. " --shard " .. i .. "/3"))) end
      assert.are.equal(0, exp.cli("merge", d .. "/s1", d .. "/s2", d .. "/s3", "--out", d .. "/m"))
      assert.are.equal(ref, slurp(d .. "/m/results.jsonl"))
      local loaded = exp.load(d .. "/m")
      assert.are.equal(12, #loaded)
      assert.are.equal("d=2;eta=0.25;run=1", loaded[1].key)
      -- the trial records of a larger grid agree on the shared trials
      assert.are.equal(0, (run(d, "--out big --big")))
      local big = slurp(d .. "/big/results.jsonl")
      for line in ref:gmatch("[^\n]+") do assert.truthy(big:find(line, 1, true)) end
    end)

    it("report.sweep re-runs into the same directory; workers and shards never delete others' trials", function()
      local d = newtmp()
      -- trials so short that the first worker records many before the second has started
      spit(d .. "/fresh.lua", [[
local report = require "hardmax.report"
local o = exp.args(arg, { runs = 300, seed = 1, out = "f" })
local res = report.sweep(o, function(_, run, g) return { x = g:normal() + run } end)
print("ok", #res)
]])
      local function go(args) return sh(string.format("cd '%s' && %s fresh.lua %s", d, HARDMAX, args)) end
      local rc, out = go("--jobs 2")
      assert.are.equal(0, rc, out)
      assert.truthy(out:find("ok\t300"), out)
      local ref = slurp(d .. "/f/sweep/results.jsonl")
      for _ = 1, 2 do   -- again into the same directory: the earlier run is discarded, not refused
        rc, out = go("--jobs 2")
        assert.are.equal(0, rc, out)
        assert.are.equal(ref, slurp(d .. "/f/sweep/results.jsonl"))
      end
      -- shards into one directory: re-running shard 1 keeps shard 2's trials
      assert.are.equal(0, (go("--out s --shard 1/2 --jobs 2")))
      assert.are.equal(0, (go("--out s --shard 2/2")))
      assert.are.equal(0, (go("--out s --shard 1/2")))
      assert.are.equal(300, #sys.listdir(d .. "/s/sweep/trials"))
      assert.are.equal(0, exp.cli("merge", d .. "/s/sweep"))
      assert.are.equal(ref, slurp(d .. "/s/sweep/results.jsonl"))
    end)

    it("counts the CPU time of its workers (exp.worker_cpu_seconds)", function()
      local d = newtmp()
      spit(d .. "/busy.lua", [[
local o = exp.args(arg, { out = "b" })
exp.sweep { runs = 2, out = o.out, workers = o.jobs, run = function()
  local t = os.clock() while os.clock() - t < 0.25 do end
  return { ok = 1 }
end }
print(("workers %.3f process %.3f"):format(exp.worker_cpu_seconds(), os.clock()))
]])
      local rc, out = sh(string.format("cd '%s' && %s busy.lua --jobs 2", d, HARDMAX))
      assert.are.equal(0, rc, out)
      local w, p = out:match("workers ([%d.]+) process ([%d.]+)")
      assert.is_true(tonumber(w) >= 0.45, out)   -- two trials of 0.25 s each ran in the workers
      assert.is_true(tonumber(p) < 0.45, out)
      rc, out = sh(string.format("cd '%s' && %s busy.lua --out c", d, HARDMAX))
      assert.are.equal(0, rc, out)
      assert.are.equal("0.000", out:match("workers ([%d.]+)"))   -- in-process: no workers
    end)

    it("loses nothing when a worker is killed mid-sweep; resume completes it identically", function()
      local d = setup()
      assert.are.equal(0, (run(d, "--out ref")))
      local rc, out = run(d, "--out r --jobs 2", "KILL_AT='d=3;eta=0.25;run=2'")
      assert.are_not.equal(0, rc)
      assert.truthy(out:find("killed by signal 9", 1, true), out)
      assert.truthy(out:find("--resume", 1, true))
      local done = #sys.listdir(d .. "/r/trials")
      assert.is_true(done >= 1 and done < 12, "finished trials kept: " .. done)
      for _, name in ipairs(sys.listdir(d .. "/r/trials")) do
        assert.truthy(name:match("^%x+%.json$"), "no partial files: " .. name)
        json.decode(slurp(d .. "/r/trials/" .. name))
      end
      assert.are_not.equal(0, (run(d, "--out r --jobs 2"))) -- without --resume: refused
      rc, out = run(d, "--out r --jobs 2 --resume")
      assert.are.equal(0, rc, out)
      assert.are.equal(slurp(d .. "/ref/results.jsonl"), slurp(d .. "/r/results.jsonl"))
      assert.are.equal(done, json.decode(slurp(d .. "/r/manifest.json")).resumed)
      -- the sweeping process itself killed (sequential), then resumed
      rc = run(d, "--out q", "KILL_AT='d=2;eta=0.5;run=3'")
      assert.are_not.equal(0, rc)
      assert.are.equal(0, (run(d, "--out q --resume")))
      assert.are.equal(slurp(d .. "/ref/results.jsonl"), slurp(d .. "/q/results.jsonl"))
    end)

    it("stops on Ctrl-C (SIGINT) instead of recording a failed trial; resume completes", function()
      local d = newtmp()
      spit(d .. "/int.lua", [[
local sys = require "hardmax.sys"
local o = exp.args(arg, { out = "ci" })
local r = exp.sweep { grid = { a = { 1, 2, 3, 4, 5, 6 } }, out = o.out, resume = o.resume,
  run = function(cfg)
    if cfg.a == 3 and not o.resume then
      sys.kill(sys.getpid(), sys.SIGINT)
      local x = 0
      for i = 1, 1e8 do x = x + i end
    end
    return { a = cfg.a }
  end }
print("done", #r, #r.failed)
]])
      local rc, out = sh(string.format("cd '%s' && %s int.lua", d, HARDMAX))
      assert.are_not.equal(0, rc)
      assert.truthy(out:find("interrupted!", 1, true), out)
      assert.are.equal(2, #sys.listdir(d .. "/ci/trials"))
      rc, out = sh(string.format("cd '%s' && %s int.lua --resume", d, HARDMAX))
      assert.are.equal(0, rc, out)
      assert.truthy(out:find("done\t6\t0", 1, true), out)
    end)

    it("records the script in the manifest and verify detects a changed number", function()
      local d = setup()
      assert.are.equal(0, (run(d, "--out v --runs 2")))
      local m = json.decode(slurp(d .. "/v/manifest.json"))
      assert.are.equal(sys.sha256_file(d .. "/sweep.lua"), m.script.sha256)
      assert.are.equal(sys.realpath(d .. "/sweep.lua"), m.script.path)
      assert.are.same({ "sweep.lua", "--out", "v", "--runs", "2" }, { table.unpack(m.command_line, 2) })
      assert.are.equal(sys.realpath(d), m.cwd)
      assert.are.equal(11, m.seed)
      local rc, out = sh(HARDMAX .. " -e \"os.exit(require('hardmax.exp').cli('verify', '" .. d .. "/v'))\"")
      assert.are.equal(0, rc, out)
      assert.truthy(out:find("verify: 8 trials, 8 identical bit-for-bit, 0 differ, 0 missing -> OK", 1, true), out)
      -- change one number in one trial record
      local name = sys.listdir(d .. "/v/trials")[1]
      local path = d .. "/v/trials/" .. name
      local t = json.decode(slurp(path))
      t.metrics.loss = t.metrics.loss * (1 + 1e-15)
      spit(path, json.encode(t) .. "\n")
      rc, out = sh(HARDMAX .. " -e \"os.exit(require('hardmax.exp').cli('verify', '" .. d .. "/v'))\"")
      assert.are.equal(1, rc, out)
      assert.truthy(out:find(t.key .. ".metrics.loss: recorded", 1, true), out)
      assert.truthy(out:find("1 differ", 1, true))
      -- a relative tolerance accepts it
      local ok, rep = exp.verify(d .. "/v", { rtol = 1e-12 })
      assert.is_true(ok, rep)
      -- a changed script is reported, not silently re-run
      spit(d .. "/sweep.lua", SCRIPT .. "\n-- edited\n")
      ok, rep = exp.verify(d .. "/v")
      assert.is_false(ok)
      assert.truthy(rep:find("changed since the run", 1, true))
    end)

    it("shows a progress bar only when stderr is a terminal", function()
      local d = setup()
      local rc, out = run(d, "--out quiet --jobs 2")
      assert.are.equal(0, rc, out)
      assert.is_nil(out:find("trials/s", 1, true))
      -- util-linux script(1) runs it under a pty; some chroots and containers have no
      -- /dev/pts (script: "failed to create pseudo-terminal"): then that half is skipped
      if not os.execute("command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1") then
        print("exp_spec: progress bar under a terminal not tested: no pseudo-terminal here (script(1))")
      else
        rc, out = sh(string.format("script -qec \"cd '%s' && %s sweep.lua --out tty\" /dev/null", d, HARDMAX))
        assert.are.equal(0, rc, out)
        assert.truthy(out:find("[##############################] 12/12", 1, true), out)
        assert.truthy(out:find("trials/s  ETA 0s", 1, true), out)
      end
    end)

    it("cli reports usage errors", function()
      assert.are.equal(2, exp.cli("merge"))
      assert.are.equal(2, exp.cli("verify", "a", "b"))
      assert.are.equal(2, exp.cli("merge", "x", "--bogus"))
      assert.are.equal(2, exp.cli("frobnicate"))
      assert.are.equal(1, exp.cli("merge", "/nonexistent-dir-hardmax"))
    end)
  end)
end)

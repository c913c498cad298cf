-- hardmax.exp — the experiment harness: parameter grids x runs with per-trial generators,
-- parallel workers (fresh processes, never fork), atomic JSON-lines results, resume, shards,
-- deterministic merge, run manifests, verify, summaries, CSV/JSON writers, script arguments.
-- See docs/exp.md.
local sys = require "hardmax.sys"
local json = require "hardmax.json"

local M = {}
M.json = json

local fmt, concat, mtype = string.format, table.concat, math.type

local function hardmax_mod()
  local ok, h = pcall(require, "hardmax")
  return ok and h or nil
end

local util = require "hardmax.util"
local fail, check_options = util.fail, util.check_options

local trial = require "hardmax.trial"
local args = require "hardmax.args"
local summary = require "hardmax.exp_summary"
local work = require "hardmax.exp_work"
local keyval, trial_less, parse_shard = trial.keyval, trial.less, args.parse_shard
M.trial_key, M.trial_less = trial.key, trial.less
M.parse_shard = function(s) return parse_shard("exp.parse_shard", s) end
M.args = args.parse
for k, f in pairs(summary) do M[k] = f end -- quantile, summary, curves, print_summary, write_json, write_csv

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function isdir(path)
  local st = sys.stat(path)
  return st and st.type == "dir"
end

local function join(a, b) return (a:gsub("/+$", "")) .. "/" .. b end

-- grid ---------------------------------------------------------------------------------
local RESERVED = { run = true, key = true }

local function expand_grid(fn, grid)
  if grid == nil then grid = {} end
  if type(grid) ~= "table" then fail(fn, "option 'grid': table of name = {values} expected, got %s", type(grid)) end
  local names = {}
  for k, vals in pairs(grid) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
      fail(fn, "option 'grid': parameter names must be identifiers, got %s", tostring(k))
    end
    if RESERVED[k] then fail(fn, "option 'grid': '%s' is reserved (trials have their own %s)", k, k) end
    if type(vals) ~= "table" or #vals == 0 then
      fail(fn, "option 'grid': '%s' must be a non-empty array of values, got %s", k,
        type(vals) == "table" and "an empty table" or type(vals))
    end
    local seen = {}
    for i = 1, #vals do
      local v = vals[i]
      if keyval(v) == nil or (type(v) == "number" and v ~= v) then
        fail(fn, "option 'grid': %s[%d] must be a number, string or boolean, got %s", k, i, tostring(v))
      end
      local kv = type(v) .. ":" .. keyval(v)
      if seen[kv] then fail(fn, "option 'grid': %s[%d] repeats the value %s", k, i, tostring(v)) end
      seen[kv] = true
    end
    for kk in pairs(vals) do
      if mtype(kk) ~= "integer" or kk < 1 or kk > #vals then
        fail(fn, "option 'grid': '%s' must be an array (found key %s)", k, tostring(kk))
      end
    end
    names[#names + 1] = k
  end
  table.sort(names)
  local points = { {} }
  for _, k in ipairs(names) do
    local nxt = {}
    for _, p in ipairs(points) do
      for _, v in ipairs(grid[k]) do
        local q = {}
        for kk, vv in pairs(p) do q[kk] = vv end
        q[k] = v
        nxt[#nxt + 1] = q
      end
    end
    points = nxt
  end
  return points, names
end

-- cfg tables raise on unknown keys (a typo such as cfg.eta vs cfg.lr must not read nil)
local function make_cfg(params, names)
  return setmetatable({}, {
    __index = function(_, k)
      local v = params[k]
      if v == nil then
        error(("exp.sweep: trial config has no parameter '%s' (grid parameters: %s)")
          :format(tostring(k), #names > 0 and concat(names, ", ") or "none"), 2)
      end
      return v
    end,
    __newindex = function(_, k) error(("exp.sweep: trial config is read-only (assignment to '%s')"):format(tostring(k)), 2) end,
    __pairs = function() return next, params, nil end,
    __len = function() return 0 end,
  })
end


-- trial records -------------------------------------------------------------------------
local function trial_file(dir, key)
  return join(dir, "trials/" .. sys.sha256(key):sub(1, 24) .. ".json")
end

local function record_line(rec)
  local t = { key = rec.key, params = rec.params, run = rec.run, status = rec.status }
  if rec.status == "ok" then
    t.metrics = rec.metrics
  else
    t.error = rec.error
    t.traceback = rec.traceback
  end
  return json.encode(t)
end

local function parse_record(line, where)
  local ok, t = pcall(json.decode, line)
  if not ok or type(t) ~= "table" or type(t.key) ~= "string" or type(t.params) ~= "table" then
    error(("exp: malformed trial record in %s: %s"):format(where, ok and "missing key/params" or t), 0)
  end
  return t
end

-- Publish a trial record. An ok record on disk is never rewritten (it may be a killed
-- run's orphan's, identical since trials are deterministic); a failed one is replaced.
-- Returns the record now on disk.
local function record_trial(dir, rec)
  local path = trial_file(dir, rec.key)
  if sys.write_atomic(path, rec.line .. "\n", { fsync = false, replace = false }) then return rec end
  local s = read_file(path)
  local ok, t = pcall(parse_record, s and s:gsub("\n$", "") or "", path)
  if ok and t.key == rec.key and t.status == "ok" then
    t.line, t.index = s:gsub("\n$", ""), rec.index
    if t.metrics == nil then t.metrics = {} end
    return t
  end
  sys.write_atomic(path, rec.line .. "\n", { fsync = false })
  return rec
end

local function load_trial(dir, key)
  local s = read_file(trial_file(dir, key))
  if not s then return nil end
  local line = s:gsub("\n$", "")
  local ok, t = pcall(parse_record, line, trial_file(dir, key))
  if not ok then
    -- only possible after an OS crash or outside interference: the trial is run again
    io.stderr:write("exp.sweep: ignoring unreadable trial record (", t, "); the trial will be re-run\n")
    return nil
  end
  if t.key ~= key then return nil end
  t.line = line
  return t
end

-- runs one trial in-process; returns the record
local function run_trial(trial, run_fn, seed, names)
  local g = require("hardmax.rng").new(seed):split(trial.key)
  local cfg = make_cfg(trial.params, names)
  local tb
  local ok, res = xpcall(run_fn, function(e)
    -- only the frames of the run function: the rest depends on how the sweep was driven
    tb = debug.traceback(nil, 2)
    local cut = tb:find("\n\t%[C%]: in function 'xpcall'")
    if cut then tb = tb:sub(1, cut - 1) end
    return e
  end, cfg, trial.run, g)
  if not ok and type(res) == "string" and (res:match("interrupted!$") or res:match(": interrupted$")) then
    -- Ctrl-C stops the sweep (finished trials are on disk); it is not a failure of this trial
    error(res, 0)
  end
  local rec = { key = trial.key, params = trial.params, run = trial.run, index = trial.index }
  if ok and res ~= nil and type(res) ~= "table" then
    ok, res = false, ("run function must return a table of metrics, got %s"):format(type(res))
    tb = ""
  end
  if ok then
    rec.status = "ok"
    rec.metrics = res or {}
    local eok, line = pcall(record_line, rec)
    if eok then
      rec.line = line
    else
      rec.status, rec.metrics, rec.error, rec.traceback = "failed", nil, "cannot record metrics: " .. line, ""
    end
  else
    rec.status = "failed"
    rec.error = tostring(res)
    rec.traceback = tb or ""
  end
  rec.line = rec.line or record_line(rec)
  if rec.status == "ok" then rec.metrics = json.decode(rec.line).metrics end
  return rec
end

-- progress bar (stderr, only on a terminal) ---------------------------------------------------
local function progress(total, enabled)
  local p = { done = 0, total = total, t0 = sys.clock(), last = -1 }
  function p.update(done)
    p.done = done
    if not enabled then return end
    local now = sys.clock()
    if done < total and now - p.last < 0.1 then return end
    p.last = now
    local el = now - p.t0
    local rate = el > 0 and done / el or 0
    local eta = rate > 0 and (total - done) / rate or 0
    local w = 30
    local fill = total > 0 and math.floor(w * done / total) or w
    io.stderr:write(fmt("\r[%s%s] %d/%d  %.1f trials/s  ETA %s ", ("#"):rep(fill), ("."):rep(w - fill),
      done, total, rate, done >= total and "0s" or fmt("%ds", math.floor(eta + 0.5))))
    if done >= total then io.stderr:write("\n") end
    io.stderr:flush()
  end
  return p
end

-- manifest -------------------------------------------------------------------------------------
local function command_line()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" then return nil end
  local lo = 0
  while a[lo - 1] ~= nil do lo = lo - 1 end
  local argv = {}
  for i = lo, #a do argv[#argv + 1] = tostring(a[i]) end
  return argv, -lo + 1 -- argv and the 1-based position of the script in it
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. fmt(".%03dZ", math.floor((t % 1) * 1000))
end

-- What decides the last bits of every number: mode "portable" (pinned BLAS kernel and libm
-- variant, the same on every x86-64 CPU) or "native" (this CPU's), and the library versions.
local function numerics(c)
  return { mode = c.mode, blas_core = c.openblas_core, libm = c.libm, glibc = c.glibc,
           openblas = c.openblas and c.openblas:match("^OpenBLAS (%S+)"), threads = c.threads }
end

local function build_manifest(spec)
  local h = hardmax_mod()
  local c = h and h.config() or {}
  local argv, spos = command_line()
  local script = argv and argv[spos]
  local spath = script and sys.realpath(script) or nil
  local m = {
    hardmax = { version = c.version, git_commit = c.git_commit },
    lua = _VERSION .. (c.lua and (" (" .. c.lua .. ")") or ""),
    openblas = { config = c.openblas, core = c.openblas_core, threads = c.threads },
    numerics = numerics(c),
    hostname = sys.hostname(),
    executable = sys.exe(),
    cwd = sys.getcwd(),
    command_line = argv,
    script = spath and { path = spath, sha256 = sys.sha256_file(spath) } or nil,
    seed = spec.seed,
    default_seed = h and h.seed() or nil,
    grid = spec.grid,
    runs = spec.runs,
    trials = spec.ntrials,
    sweep = spec.ordinal,
    shard = spec.shard and fmt("%d/%d", spec.shard[1], spec.shard[2]) or nil,
    workers = spec.workers,
    signature = spec.signature,
    start_time = iso(spec.start),
    status = "running",
  }
  return m
end

local function manifest_name(shard)
  if not shard then return "manifest.json" end
  return fmt("manifest-shard-%d-of-%d.json", shard[1], shard[2])
end

local function write_json_atomic(path, v, pretty)
  sys.write_atomic(path, json.encode(v, pretty and { indent = "  " } or nil) .. "\n")
end

-- merge ---------------------------------------------------------------------------------------
local function collect_dir(dir, into, sources)
  local tdir = join(dir, "trials")
  local names = sys.listdir(tdir)
  local own = {}
  if names then
    for _, name in ipairs(names) do
      if name:match("^%x+%.json$") then
        local path = join(tdir, name)
        local line = assert(read_file(path)):gsub("\n$", "")
        local t = parse_record(line, path)
        t.line = line
        own[t.key] = true
        local prev = into[t.key]
        if prev and prev.line ~= line then
          -- an ok record beats a failed one; two different ok records are a conflict
          if prev.status == "ok" and t.status == "ok" then
            error(("exp.merge: conflicting results for trial %s in %s and %s"):format(t.key, sources[t.key], path), 0)
          end
          if t.status == "ok" then into[t.key], sources[t.key] = t, path end
        elseif not prev then
          into[t.key], sources[t.key] = t, path
        end
      end
    end
  end
  -- a merged results.jsonl contributes the trials that have no trial file (merging merged
  -- directories); trial files are the primary record
  local s = read_file(join(dir, "results.jsonl"))
  if s then
    local n = 0
    for line in s:gmatch("[^\n]+") do
      n = n + 1
      local t = parse_record(line, join(dir, "results.jsonl") .. ":" .. n)
      t.line = line
      if not own[t.key] then
        local prev = into[t.key]
        if not prev or (prev.status ~= "ok" and t.status == "ok") then
          into[t.key], sources[t.key] = t, join(dir, "results.jsonl")
        elseif prev.line ~= line and prev.status == "ok" and t.status == "ok" then
          error(("exp.merge: conflicting results for trial %s in %s and %s"):format(t.key, sources[t.key], join(dir, "results.jsonl")), 0)
        end
      end
    end
  end
end

local function sorted_records(map)
  local list = {}
  for _, t in pairs(map) do list[#list + 1] = t end
  table.sort(list, trial_less)
  return list
end

local function jsonl(list)
  local out = {}
  for i, t in ipairs(list) do out[i] = t.line end
  return #out > 0 and (concat(out, "\n") .. "\n") or ""
end

--- Merge the trial records found in one or more result directories into out/results.jsonl
--- (sorted, byte-identical whatever the shard count or completion order). What dead
--- processes left in the directories (exp_work.heal) is removed first. Returns the list of
--- records, the path written and the removed leftovers (paths, sorted).
function M.merge(dirs, opts)
  local fn = "exp.merge"
  opts = check_options(fn, opts, { "out", "summary" }, 2)
  if type(dirs) == "string" then dirs = { dirs } end
  if type(dirs) ~= "table" or #dirs == 0 then fail(fn, "bad argument #1 (directory or list of directories expected)") end
  local map, sources, cleaned = {}, {}, {}
  for _, d in ipairs(dirs) do
    if not isdir(d) then fail(fn, "'%s' is not a directory", tostring(d)) end
    for _, p in ipairs(work.heal(d)) do cleaned[#cleaned + 1] = join(d, p) end
    collect_dir(d, map, sources)
  end
  local list = sorted_records(map)
  local out = opts.out or dirs[1]
  sys.mkdir_p(out)
  local path = join(out, "results.jsonl")
  sys.write_atomic(path, jsonl(list))
  if opts.summary ~= false then
    write_json_atomic(join(out, "summary.json"), M.summary(list), true)
  end
  return list, path, cleaned
end

--- Load the results of a directory (trial files and/or results.jsonl), sorted.
function M.load(dir)
  if type(dir) ~= "string" or not isdir(dir) then
    fail("exp.load", "bad argument #1 (result directory expected, got %s)", tostring(dir))
  end
  local map = {}
  collect_dir(dir, map, {})
  local list = sorted_records(map)
  for _, t in ipairs(list) do t.line = nil end
  return list
end

-- the sweep ------------------------------------------------------------------------------------
local sweep_count = 0
local worker_cpu = 0.0   -- CPU seconds of this process's sweep workers (reaped children)

--- CPU seconds spent by the worker processes of every sweep this process ran (os.clock()
--- counts only the process itself): an experiment's compute is os.clock() + this.
function M.worker_cpu_seconds() return worker_cpu end

-- HARDMAX_EXP_WORKER=<sweep number>:<parent pid>:<assignment file>
local function worker_env()
  local w = os.getenv("HARDMAX_EXP_WORKER")
  if not w or w == "" then return nil end
  local ord, ppid, assigned = w:match("^(%d+):(%d+):(.+)$")
  if not ord then error("exp: malformed HARDMAX_EXP_WORKER=" .. w, 0) end
  return { ordinal = tonumber(ord), ppid = tonumber(ppid), assigned = assigned }
end
-- a worker dies with its sweep from the start (it re-runs the script's earlier sweeps too):
-- a killed sweep leaves no orphan that keeps writing into its directory
if worker_env() then sys.die_with_parent(worker_env().ppid) end

local function verify_env()
  local v = os.getenv("HARDMAX_EXP_VERIFY")
  if not v or v == "" then return nil end
  local ord, dir = v:match("^(%d+):(.+)$")
  return { ordinal = tonumber(ord), dir = dir }
end

local function tmpdir(tag)
  local base = (os.getenv("TMPDIR") or "/tmp"):gsub("/+$", "")
  return sys.mkdtemp(fmt("%s/hardmax-%s-", base, tag))
end

-- remove a private temporary directory of ours (tmpdir) with everything in it
local function rmtree_files(dir)
  for _, name in ipairs(sys.listdir(dir) or {}) do
    -- remove(3) takes files, symlinks (never followed) and empty directories; what it
    -- refuses is a directory with contents
    local p = join(dir, name)
    if not os.remove(p) then rmtree_files(p) end
  end
  os.remove(dir)
end

local function spawn_workers(fn, spec, pending, nworkers, bar)
  local argv, spos = command_line()
  local exe = sys.exe()
  local script = argv and argv[spos]
  local st = script and sys.stat(script)
  if not argv or not exe or not st or st.type ~= "file" then
    return nil, "workers re-run the script, but this process has no script file (arg[0])"
  end
  argv[1] = exe
  -- this process's own .work/run-<hex>/, locked while it lives (exp_work): shards and runs
  -- sharing the directory never touch each other's files, a dead run's are healed away
  local run = work.open(spec.dir)
  local pids = {}
  local n = math.min(nworkers, #pending)
  for k = 1, n do
    local lines = { spec.signature }
    for i = k, #pending, n do lines[#lines + 1] = tostring(pending[i].index) end
    local assigned = join(run.dir, fmt("sweep%d-worker%d.trials", spec.ordinal, k))
    sys.write_atomic(assigned, concat(lines, "\n") .. "\n", { fsync = false })
    local log = join(run.dir, fmt("sweep%d-worker%d.log", spec.ordinal, k))
    pids[k] = { pid = sys.spawn(argv, { stdout = log, stderr = log, stdin = "/dev/null",
      env = { HARDMAX_EXP_WORKER = fmt("%d:%d:%s", spec.ordinal, sys.getpid(), assigned) } }),
      log = log, assigned = assigned }
  end
  -- wait; with a progress bar poll the trial directory
  local running = n
  local base = spec.done_before
  while running > 0 do
    for _, w in ipairs(pids) do
      if not w.status then
        local how, code = sys.wait(w.pid, bar.enabled)
        if how then
          w.status, w.code = how, code
          running = running - 1
        end
      end
    end
    if bar.enabled and running > 0 then
      local cnt = 0
      for _, t in ipairs(pending) do
        if sys.stat(trial_file(spec.dir, t.key)) then cnt = cnt + 1 end
      end
      bar.update(base + cnt)
      sys.sleep(0.1)
    end
  end
  local problems, files = {}, {}
  for k, w in ipairs(pids) do
    files[#files + 1], files[#files + 2] = w.log, w.assigned
    if w.status ~= "exited" or w.code ~= 0 then
      local log = read_file(w.log) or ""
      if #log > 2000 then log = "..." .. log:sub(-2000) end
      problems[#problems + 1] = fmt("worker %d (pid %d) %s %d (log: %s):\n%s", k, w.pid,
        w.status == "exited" and "exited with code" or "was killed by signal", w.code, w.log, log)
    end
  end
  -- after a failure the logs stay until the next run of the sweep heals the directory
  work.close(run, #problems == 0 and files or nil)
  return #problems == 0, concat(problems, "\n")
end

local function signature(spec)
  return sys.sha256(json.encode({ grid = spec.grid, runs = spec.runs, seed = spec.seed }))
end

--- exp.sweep{grid=, runs=, seed=, run=function(cfg, run, g) ... end, out=, workers=,
--- shard=, resume=, progress=, quiet=} -> results (array of trial records, sorted).
function M.sweep(o)
  local fn = "exp.sweep"
  check_options(fn, o, { "grid", "runs", "seed", "run", "out", "workers", "jobs", "shard",
    "resume", "fresh", "progress", "quiet", "quantiles" }, 1)
  if o == nil then fail(fn, "bad argument #1 (table {grid=, runs=, run=, ...} expected, got nil)") end
  sweep_count = sweep_count + 1
  local ordinal = sweep_count
  local wenv, venv = worker_env(), verify_env()
  if type(o.run) ~= "function" then fail(fn, "option 'run': function(cfg, run, g) expected, got %s", type(o.run)) end
  local runs = o.runs == nil and 1 or o.runs
  if mtype(runs) ~= "integer" or runs < 1 then fail(fn, "option 'runs': positive integer expected, got %s", tostring(runs)) end
  local h = hardmax_mod()
  local seed = o.seed
  if seed == nil then seed = h and h.seed() or 0 end
  if mtype(seed) ~= "integer" then
    if type(seed) == "number" and seed == math.floor(seed) and math.abs(seed) < 2 ^ 63 then seed = math.tointeger(seed)
    else fail(fn, "option 'seed': integer expected, got %s", tostring(seed)) end
  end
  local workers = o.workers or o.jobs or 1
  if o.workers and o.jobs and o.workers ~= o.jobs then fail(fn, "options 'workers' and 'jobs' disagree (%s vs %s)", tostring(o.workers), tostring(o.jobs)) end
  if mtype(workers) ~= "integer" or workers < 1 then fail(fn, "option 'workers': positive integer expected, got %s", tostring(workers)) end
  if workers > 1 and sys.sandboxed() then -- workers are processes; the sandbox starts none
    io.stderr:write(fmt("%s: sandbox: parallel workers (%d jobs) are disabled in the sandbox; running the trials in this process\n", fn, workers))
    workers = 1
  end
  local shard = parse_shard(fn, o.shard)
  local resume = o.resume and true or false
  -- fresh: earlier results in `out` are discarded instead of refused (never with resume)
  local fresh = (o.fresh and not resume) and true or false
  local out = o.out
  if out ~= nil and (type(out) ~= "string" or out == "") then fail(fn, "option 'out': directory path expected, got %s", tostring(out)) end
  local points, names = expand_grid(fn, o.grid)
  local grid_copy = {}
  for k, v in pairs(o.grid or {}) do grid_copy[k] = { table.unpack(v) } end

  -- verify mode: write into the verifier's directory, unsharded
  if venv then
    out = join(venv.dir, "sweep" .. ordinal)
    shard, resume = nil, false
  end
  if venv then fresh = false end   -- the verifier's directory is new anyway
  -- an earlier sweep of the script, re-run by a worker: it is complete on disk (or cheap);
  -- the worker reads its directory and never writes there (its manifest stays the parent's)
  local replay = wenv ~= nil and wenv.ordinal ~= ordinal
  if replay then
    workers = 1
    resume, fresh = out ~= nil, false
  end

  -- trials
  local trials = {}
  for _, p in ipairs(points) do
    for r = 1, runs do
      trials[#trials + 1] = { params = p, run = r, key = trial.key(p, r), index = #trials + 1 }
    end
  end
  local mine = trials
  if shard then
    mine = {}
    for _, t in ipairs(trials) do
      if (t.index - 1) % shard[2] == shard[1] - 1 then mine[#mine + 1] = t end
    end
  end
  local spec = { grid = grid_copy, runs = runs, seed = seed, ordinal = ordinal, shard = shard,
    workers = workers, ntrials = #trials, start = sys.time() }
  spec.signature = signature(spec)

  -- worker: run the assigned trials and leave
  if wenv and wenv.ordinal == ordinal then
    local s = read_file(wenv.assigned)
    if not s then fail(fn, "worker: cannot read %s", wenv.assigned) end
    local lines = {}
    for l in s:gmatch("[^\n]+") do lines[#lines + 1] = l end
    if lines[1] ~= spec.signature then
      fail(fn, "worker: sweep #%d of the re-run script differs from the parent's (grid, runs or seed changed, or not deterministic)", ordinal)
    end
    local held = work.enter_worker(wenv.assigned) -- released when this process ends
    local dir = wenv.assigned:match("^(.*)/%.work/run%-%x+/[^/]+$")
    for i = 2, #lines do
      local t = trials[tonumber(lines[i])]
      record_trial(dir, run_trial(t, o.run, seed, names))
    end
    held:release()
    io.stdout:flush()
    os.exit(0, true)
  end

  -- output directory
  local temp = false
  if out == nil then
    if workers > 1 then out, temp = tmpdir("sweep"), true end
  end
  if out then
    local ok, err = pcall(sys.mkdir_p, out)
    if not ok then fail(fn, "cannot create output directory '%s': %s", out, (tostring(err):gsub("^sys%.mkdir_p: ", ""))) end
    ok, err = pcall(sys.mkdir_p, join(out, "trials"))
    if not ok or not sys.writable(join(out, "trials")) then
      fail(fn, "output directory '%s' is not writable", out)
    end
    -- fresh: forget an earlier run here. Unsharded, every result file goes (also of another
    -- sweep); a shard removes only its own trials, since other shards may be running.
    -- Workers never get here, so they cannot delete their siblings' trials.
    if fresh and not shard then
      for _, sub in ipairs({ join(out, "trials"), out }) do
        for _, name in ipairs(sys.listdir(sub) or {}) do
          if name:match("%.json$") or name:match("%.jsonl$") then os.remove(join(sub, name)) end
        end
      end
    elseif fresh then
      for _, t in ipairs(mine) do os.remove(trial_file(out, t.key)) end
    end
    -- a directory holding another sweep is never reused
    for _, name in ipairs(sys.listdir(out) or {}) do
      if name:match("^manifest.*%.json$") then
        local s = read_file(join(out, name))
        local ok2, m = pcall(json.decode, s or "")
        if ok2 and type(m) == "table" and m.signature and m.signature ~= spec.signature then
          fail(fn, "output directory '%s' holds a different sweep (%s: grid, runs or seed differ); choose another directory", out, name)
        end
      end
    end
  end
  spec.dir = out

  -- resume / refuse to overwrite
  local results = {}
  local pending = {}
  for _, t in ipairs(mine) do
    local rec = out and load_trial(out, t.key)
    if rec and not resume then
      fail(fn, "output directory '%s' already holds results of this sweep (e.g. %s); pass resume=true (--resume) to continue it or choose another directory", out, t.key)
    end
    if rec and rec.status == "ok" then
      rec.index = t.index
      results[#results + 1] = rec
    else
      pending[#pending + 1] = t
    end
  end
  spec.done_before = #results
  -- what killed writers and workers left here goes (never a record; see exp_work.heal)
  local cleaned = (out and not temp and not venv and not replay) and work.heal(out) or nil

  local manifest
  if out then
    manifest = build_manifest(spec)
    manifest.resumed = #results
    if cleaned and #cleaned > 0 then manifest.cleaned = cleaned end
    if not temp and not replay then write_json_atomic(join(out, manifest_name(shard)), manifest, true) end
  end

  local show = o.progress
  if show == nil then show = sys.isatty(2) and not o.quiet end
  local bar = progress(#mine, show)
  bar.enabled = show
  bar.update(#results)

  -- run
  local used_workers = 1
  if workers > 1 and #pending > 1 then
    local children0 = sys.cpu() - os.clock()
    local ok, err = spawn_workers(fn, spec, pending, workers, bar)
    worker_cpu = worker_cpu + (sys.cpu() - os.clock() - children0)
    if ok == nil then
      io.stderr:write(fn .. ": " .. err .. "; running the trials in this process\n")
    else
      used_workers = math.min(workers, #pending)
      if not ok then
        fail(fn, "%s\n(finished trials are kept in '%s'; rerun with resume=true / --resume)", err, out)
      end
      for _, t in ipairs(pending) do
        local rec = load_trial(out, t.key)
        if not rec then fail(fn, "worker finished without recording trial %s", t.key) end
        rec.index = t.index
        results[#results + 1] = rec
      end
      pending = {}
    end
  end
  for _, t in ipairs(pending) do
    local rec = run_trial(t, o.run, seed, names)
    if out and not replay then rec = record_trial(out, rec) end
    results[#results + 1] = rec
    bar.update(#results)
  end
  bar.update(#results)
  table.sort(results, function(a, b) return a.index < b.index end)

  -- results and metadata
  local failed = {}
  for _, r in ipairs(results) do
    if r.status ~= "ok" then failed[#failed + 1] = r end
    if r.status == "ok" and r.metrics == nil then r.metrics = {} end
  end
  local sorted = {}
  for i, r in ipairs(results) do sorted[i] = r end
  table.sort(sorted, trial_less)
  local summary = M.summary(results, o.quantiles and { quantiles = o.quantiles } or nil)
  if out and not temp and not replay then
    sys.sync() -- trial files were renamed into place without per-file fsync (see sys.write_atomic)
    if not shard then
      sys.write_atomic(join(out, "results.jsonl"), jsonl(sorted))
      write_json_atomic(join(out, "summary.json"), summary, true)
    end
    manifest.end_time = iso(sys.time())
    manifest.status = #failed > 0 and "finished with failures" or "finished"
    manifest.failed = #failed
    manifest.workers = used_workers
    write_json_atomic(join(out, manifest_name(shard)), manifest, true)
  end
  if temp then rmtree_files(out) end
  if #failed > 0 and not o.quiet then
    local lines = { fmt("%s: %d of %d trials failed%s:", fn, #failed, #results,
      out and not temp and (" (recorded in " .. out .. ")") or "") }
    for i = 1, math.min(#failed, 10) do
      lines[#lines + 1] = "  " .. failed[i].key .. ": " .. tostring(failed[i].error)
    end
    if #failed > 10 then lines[#lines + 1] = fmt("  ... and %d more", #failed - 10) end
    io.stderr:write(concat(lines, "\n"), "\n")
  end
  for _, r in ipairs(results) do r.line = nil end
  results.failed = failed
  results.summary = summary
  results.dir = (out and not temp) and out or nil
  results.manifest = manifest
  if venv and venv.ordinal == ordinal then
    io.stdout:flush()
    os.exit(0, true)
  end
  return results
end

-- verify ----------------------------------------------------------------------------------------
local function compare(a, b, path, tol, diffs, worst)
  if type(a) == "number" and type(b) == "number" and a == a and b == b and a ~= b then
    local rel = math.abs(a - b) / math.max(math.abs(a), math.abs(b))
    if rel > worst.rel then worst.rel, worst.path = rel, path end
  end
  if #diffs >= 20 and type(a) ~= "table" then return end
  if type(a) == "number" and type(b) == "number" then
    local same
    if a ~= a or b ~= b then same = (a ~= a) and (b ~= b)
    elseif tol then same = a == b or math.abs(a - b) <= tol.atol + tol.rtol * math.max(math.abs(a), math.abs(b))
    else same = a == b and mtype(a) == mtype(b) end
    if not same and #diffs < 20 then diffs[#diffs + 1] = fmt("%s: recorded %s, recomputed %s", path, json.number(a), json.number(b)) end
  elseif type(a) == "table" and type(b) == "table" then
    local keys = {}
    for k in pairs(a) do keys[k] = true end
    for k in pairs(b) do keys[k] = true end
    local list = {}
    for k in pairs(keys) do list[#list + 1] = k end
    table.sort(list, function(x, y) return tostring(x) < tostring(y) end)
    for _, k in ipairs(list) do compare(a[k], b[k], path .. "." .. tostring(k), tol, diffs, worst) end
  elseif a ~= b and #diffs < 20 then
    diffs[#diffs + 1] = fmt("%s: recorded %s, recomputed %s", path, tostring(a), tostring(b))
  end
end

-- Results made with other numerics (another CPU in native mode, another thread count or
-- library version) agree to rounding amplified by the experiment's dynamics, which no bound
-- covers: across the BLAS kernels of this CPU the flagship's 140700 numbers differ by up to
-- 1.3e-6 relative (measured; docs/exp.md, "Verify"). The default is a stated 1e-5, and the
-- report always gives the largest relative difference, so the reader judges.
local VERIFY_RTOL = 1e-5

local NUMERIC_FIELDS = { "mode", "blas_core", "libm", "glibc", "openblas", "threads" }

local function manifest_numerics(m)
  if m.numerics then return m.numerics end
  -- manifests written before numerics were recorded
  return { blas_core = m.openblas and m.openblas.core, threads = m.openblas and m.openblas.threads }
end

local function describe_numerics(m)
  local n = manifest_numerics(m)
  return fmt("%s, BLAS core %s, %s libm, %s thread%s", tostring(n.mode), tostring(n.blas_core), tostring(n.libm),
    tostring(n.threads), n.threads == 1 and "" or "s")
end

-- nil when both manifests name the same numerics, else which fields differ
local function numerics_differ(a, b)
  local na, nb, out = manifest_numerics(a), manifest_numerics(b), {}
  for _, k in ipairs(NUMERIC_FIELDS) do
    if na[k] ~= nb[k] then out[#out + 1] = fmt("%s %s recorded, %s now", k, tostring(na[k]), tostring(nb[k])) end
  end
  return #out > 0 and concat(out, "; ") or nil
end

--- Re-run the script recorded in dir's manifest and compare every number. Returns
--- ok, report (string).
function M.verify(dir, opts)
  local fn = "exp.verify"
  opts = check_options(fn, opts, { "rtol", "atol", "force" }, 2)
  if type(dir) ~= "string" or not isdir(dir) then fail(fn, "bad argument #1 (result directory expected, got %s)", tostring(dir)) end
  local mname
  for _, name in ipairs(sys.listdir(dir)) do
    if name:match("^manifest.*%.json$") then mname = mname or name end
  end
  if not mname then fail(fn, "no manifest*.json in '%s'", dir) end
  local m = json.decode(assert(read_file(join(dir, mname))))
  if type(m.command_line) ~= "table" or not m.script then fail(fn, "manifest %s records no script", join(dir, mname)) end
  local report = {}
  local now = sys.stat(m.script.path) and sys.sha256_file(m.script.path)
  if now ~= m.script.sha256 and not opts.force then
    return false, fmt("verify: script %s changed since the run (sha256 %s recorded, %s now); pass --force to compare anyway",
      m.script.path, m.script.sha256, tostring(now))
  end
  local work = tmpdir("verify")
  local argv = { "/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", m.cwd }
  local exe = m.executable and sys.stat(m.executable) and m.executable or sys.exe()
  for i, a in ipairs(m.command_line) do argv[#argv + 1] = i == 1 and exe or a end
  local log = join(work, "run.log")
  local env = { HARDMAX_EXP_VERIFY = fmt("%d:%s", m.sweep or 1, work), HARDMAX_EXP_WORKER = false }
  -- re-run with the recorded numerics where this machine can: the recorded mode (a portable
  -- result is then reproduced bit for bit anywhere), and for a native one its BLAS kernel and,
  -- when it was the SSE2 one, its libm variant (a CPU that lacks the kernel runs another, and
  -- the comparison below then says so and uses the tolerance)
  local rn = m.numerics
  if rn then
    env.HARDMAX_MODE = rn.mode
    local h = hardmax_mod()
    if rn.mode == "native" and type(rn.blas_core) == "string" and h and h.cpu_runs_core(rn.blas_core) then
      -- set here, not inherited from this (possibly pinned) process
      env.OPENBLAS_CORETYPE, env.HARDMAX_PINNED = rn.blas_core, false
      env.GLIBC_TUNABLES = rn.libm == "generic" and h.config().generic_libm_tunables or false
    end
  end
  local pid = sys.spawn(argv, { stdout = log, stderr = log, stdin = "/dev/null", env = env })
  local how, code = sys.wait(pid)
  local redo = join(work, "sweep" .. (m.sweep or 1))
  if how ~= "exited" or code ~= 0 or not isdir(redo) then
    local l = read_file(log) or ""
    rmtree_files(redo); os.remove(log); os.remove(work)
    return false, fmt("verify: re-running %s failed (%s %s):\n%s", concat(m.command_line, " "), how, tostring(code), l)
  end
  local tol
  if opts.rtol or opts.atol then
    tol = { rtol = opts.rtol or 0, atol = opts.atol or 0 }
  else
    local rm = json.decode(read_file(join(redo, "manifest.json")) or "null")
    local differ = numerics_differ(m, type(rm) == "table" and rm or {})
    if differ then
      tol = { rtol = VERIFY_RTOL, atol = 0 }
      report[#report + 1] = fmt("verify: numerics differ (%s): comparing with rtol=%g", differ, VERIFY_RTOL)
    else
      report[#report + 1] = fmt("verify: same numerics (%s): comparing bit for bit", describe_numerics(m))
    end
  end
  local old, new = {}, {}
  collect_dir(dir, old, {})
  collect_dir(redo, new, {})
  local n, bad, missing, worst = 0, 0, 0, { rel = 0 }
  for _, t in ipairs(sorted_records(old)) do
    n = n + 1
    local u = new[t.key]
    if not u then
      missing = missing + 1
      report[#report + 1] = fmt("%s: not recomputed", t.key)
    else
      local diffs = {}
      compare({ status = t.status, metrics = t.metrics }, { status = u.status, metrics = u.metrics }, t.key, tol, diffs, worst)
      if #diffs > 0 then
        bad = bad + 1
        for _, d in ipairs(diffs) do report[#report + 1] = d end
      end
    end
  end
  rmtree_files(redo); os.remove(log); os.remove(work)
  local ok = bad == 0 and missing == 0 and n > 0
  if worst.path then
    report[#report + 1] = fmt("verify: largest relative difference %.3g (%s)", worst.rel, worst.path)
  end
  report[#report + 1] = fmt("verify: %d trials, %d identical%s, %d differ, %d missing -> %s", n, n - bad - missing,
    tol and fmt(" (rtol=%g, atol=%g)", tol.rtol, tol.atol) or " bit-for-bit", bad, missing, ok and "OK" or "MISMATCH")
  return ok, concat(report, "\n")
end

-- command line: hardmax merge DIR... / hardmax verify DIR ---------------------------------------
local USAGE = {
  merge = "usage: hardmax merge DIR [DIR...] [--out DIR]\n  merges trial records (shards) into DIR/results.jsonl and summary.json",
  verify = "usage: hardmax verify DIR [--rtol X] [--atol X] [--force]\n  re-runs the recorded script and compares every number",
}

--- exp.cli(sub, ...) -> exit code (0 ok, 1 mismatch/failure, 2 usage error).
function M.cli(sub, ...)
  local args = { ... }
  if sub ~= "merge" and sub ~= "verify" then
    io.stderr:write("hardmax: unknown subcommand '", tostring(sub), "' (merge, verify)\n")
    return 2
  end
  local dirs, o = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--help" or a == "-h" then io.stdout:write(USAGE[sub], "\n") return 0 end
    local flag = a:match("^%-%-(.+)$")
    if flag then
      if flag == "force" and sub == "verify" then o.force = true
      elseif (flag == "out" and sub == "merge") or ((flag == "rtol" or flag == "atol") and sub == "verify") then
        i = i + 1
        local v = args[i]
        if v == nil then io.stderr:write("hardmax ", sub, ": --", flag, " needs a value\n") return 2 end
        if flag ~= "out" then
          v = tonumber(v)
          if not v or v < 0 then io.stderr:write("hardmax ", sub, ": --", flag, " needs a non-negative number\n") return 2 end
        end
        o[flag] = v
      else
        io.stderr:write("hardmax ", sub, ": unknown option --", flag, "\n", USAGE[sub], "\n")
        return 2
      end
    else
      dirs[#dirs + 1] = a
    end
    i = i + 1
  end
  if #dirs == 0 or (sub == "verify" and #dirs ~= 1) then io.stderr:write(USAGE[sub], "\n") return 2 end
  local ok, a, b, c = pcall(function()
    if sub == "merge" then return M.merge(dirs, { out = o.out }) end
    return M.verify(dirs[1], o)
  end)
  if not ok then
    io.stderr:write("hardmax ", sub, ": ", tostring(a), "\n")
    return 1
  end
  if sub == "merge" then
    local failed = 0
    for _, t in ipairs(a) do if t.status ~= "ok" then failed = failed + 1 end end
    io.stderr:write(fmt("hardmax merge: %d trials (%d failed) -> %s\n", #a, failed, b))
    if #c > 0 then
      io.stderr:write(fmt("hardmax merge: removed %d leftovers of killed processes: %s\n", #c, concat(c, " ")))
    end
    return 0
  end
  io.stdout:write(b, "\n")
  return a and 0 or 1
end

return M

-- hardmax.exp_work — what a crash of a sweep can leave in its output directory, and how a
-- later run tells it from what a live process is still writing: temporaries of atomic
-- writes (locked by their writer while it lives) and the worker files in DIR/.work (one
-- directory per sweeping process, locked by it; each worker locks its assignment file).
-- A lock that can be taken belongs to a dead process, whatever the pids: they repeat across
-- hosts sharing a directory and across PID namespaces. See docs/exp.md, "After a crash".
local sys = require "hardmax.sys"

local M = {}

local function join(a, b) return (a:gsub("/+$", "")) .. "/" .. b end

-- temporary names of sys.write_atomic: "<target>.tmp.<16 hex>", and the "<target>.tmp.<pid>.<n>"
-- of hardmax before 2026-12 (no lock: always dead to a current probe)
local function is_temporary(name)
  local hex = name:match("%.tmp%.(%x+)$")
  return (hex ~= nil and #hex == 16) or name:match("%.tmp%.%d+%.%d+$") ~= nil
end
M.is_temporary = is_temporary

local function remove_dead_temporaries(dir, rel, cleaned)
  for _, name in ipairs(sys.listdir(dir) or {}) do
    if is_temporary(name) and sys.remove_dead(join(dir, name)) then
      cleaned[#cleaned + 1] = rel .. name
    end
  end
end

-- a run directory whose owner is dead: gone once none of its workers lives (a worker locks
-- its assignment file "*.trials" for its lifetime)
local function remove_run_dir(rdir, rel, cleaned)
  local names = sys.listdir(rdir) or {}
  for _, name in ipairs(names) do
    if name:match("%.trials$") then
      local ok = sys.remove_dead(join(rdir, name))
      if ok == false then return false end -- a worker still runs
      if ok then cleaned[#cleaned + 1] = rel .. name end
    end
  end
  for _, name in ipairs(names) do
    local p = join(rdir, name)
    if not name:match("%.trials$") then
      local ok
      if is_temporary(name) then ok = sys.remove_dead(p) else ok = os.remove(p) end
      if ok then cleaned[#cleaned + 1] = rel .. name end
    end
  end
  os.remove(rdir)
  return true
end

--- Remove what dead processes left in a sweep's output directory: temporaries of writes cut
--- short in DIR, DIR/trials and DIR/.work, and the .work entries of sweeps and workers that
--- no longer run (also the unlocked .work files of hardmax before 2026-12). Never a record:
--- only temporary names and .work entries are looked at, and only dead ones are removed.
--- Returns the removed paths relative to dir, sorted.
function M.heal(dir)
  local cleaned = {}
  remove_dead_temporaries(dir, "", cleaned)
  remove_dead_temporaries(join(dir, "trials"), "trials/", cleaned)
  local work = join(dir, ".work")
  local names = sys.listdir(work)
  if names then
    remove_dead_temporaries(work, ".work/", cleaned)
    local runs = {}
    for _, name in ipairs(names) do
      local id = name:match("^(run%-%x+)%.lock$") or name:match("^(run%-%x+)$")
      if id then
        runs[id] = true
      elseif name:match("^sweep%d+%-worker%d+%.%a+$") then
        -- the flat layout of older versions kept no lock: its files are leftovers
        if os.remove(join(work, name)) then cleaned[#cleaned + 1] = ".work/" .. name end
      end
    end
    local ids = {}
    for id in pairs(runs) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      local lockp, rdir = join(work, id .. ".lock"), join(work, id)
      local owner = sys.stat(lockp) and sys.lock_open(lockp, false)
      -- owner: a lock we now hold (the sweep is dead); false: alive or unreadable; nil: no lock
      -- file, so the sweep is gone for good (the lock is created before, removed after its dir)
      if owner ~= false and (owner or not sys.stat(lockp)) then
        local gone = not sys.stat(rdir) or remove_run_dir(rdir, ".work/" .. id .. "/", cleaned)
        if owner and gone then
          owner:remove()
          cleaned[#cleaned + 1] = ".work/" .. id .. ".lock"
        elseif owner then
          owner:release()
        end
      end
    end
    os.remove(work) -- only when empty
  end
  table.sort(cleaned)
  return cleaned
end

--- Start the worker bookkeeping of one sweeping process: DIR/.work/run-<hex>.lock (locked
--- while this process lives) and the directory DIR/.work/run-<hex>/ for its workers' files.
function M.open(dir)
  local work = join(dir, ".work")
  sys.mkdir_p(work)
  local lock, lockp = sys.lock_create(join(work, "run-"), ".lock")
  local rdir = lockp:gsub("%.lock$", "")
  sys.mkdir_p(rdir)
  return { lock = lock, dir = rdir, work = work }
end

--- End it: with files, remove those and the run's directory and lock (all went well);
--- without, only release the lock, leaving the files for a look and for the next heal.
function M.close(run, files)
  if files then
    for _, p in ipairs(files) do os.remove(p) end
    os.remove(run.dir)
    run.lock:remove()
    os.remove(run.work)
  else
    run.lock:release()
  end
end

--- In a worker: hold the lock of the assignment file until exit. Returns the lock.
function M.enter_worker(assigned)
  local lock, err = sys.lock_open(assigned, true)
  if not lock then error(("exp.sweep: worker: cannot lock %s (%s)"):format(assigned, tostring(err)), 0) end
  return lock
end

return M

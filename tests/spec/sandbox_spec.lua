-- The sandbox (hardmax --sandbox, hardmax.sandbox{}): an untrusted script tries to run
-- commands, read and write outside its folders (directly, through ../, through symbolic
-- links, through hardmax's own file functions), load C or binary code and reach debug; every
-- attempt must fail with "sandbox: <what>: ..." and leave no trace, while plot, exp and the
-- file functions keep working inside the allowed folders. The sandbox is process-wide and
-- irreversible, so each run is a child process: the host with --sandbox, and stock lua5.4
-- with hardmax.so calling hardmax.sandbox{} (the library toggle a Jupyter kernel uses).
require "hardmax"

local H = os.getenv("HARDMAX")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function sh(cmd)
  local ok, how, code = os.execute(cmd)
  return ok, how, code
end

-- The untrusted script: arg = { "--out", OUT, SECRET, DATA, PROJ, SENT }. Prints one line
-- per attempt: name, "ok" or "err", the message.
local UNTRUSTED = [==[
local OUT, SECRET, DATA, PROJ, SENT = arg[2], arg[3], arg[4], arg[5], arg[6]
local sys = require "hardmax.sys"
local function try(name, f, ...)
  local ok, e = pcall(f, ...)
  io.stdout:write(name, "\t", ok and "ok" or "err", "\t", ok and "" or (tostring(e):gsub("\n", " | ")), "\n")
end
local function open(path, mode) local f = assert(io.open(path, mode or "r")); local s = f:read("a") or ""; f:close(); return s end
local function create(path) local f = assert(io.open(path, "w")); f:write("x"); f:close() end
try("os.execute", os.execute, "touch " .. SENT)
try("io.popen", io.popen, "touch " .. SENT)
try("os.tmpname", os.tmpname)
try("package.loadlib", package.loadlib, "/lib/x86_64-linux-gnu/libc.so.6", "system")
try("debug", function()
  for _, k in ipairs({"getinfo", "getlocal", "getupvalue", "setupvalue", "sethook", "getregistry", "getmetatable", "setmetatable", "upvalueid"}) do
    assert(debug[k] == nil and require("debug")[k] == nil, "debug." .. k .. " is reachable")
  end
  assert(debug.traceback("x"):find("^x\nstack traceback:"), "no traceback")
end)
try("C searcher", function() assert(#package.searchers == 2 and package.cpath == "", "C searchers left") end)
try("read secret", open, SECRET .. "/secret.txt")
try("read ../secret", open, PROJ .. "/../secret/secret.txt")
try("read out/../secret", open, OUT .. "/../secret/secret.txt")
try("read symlinked dir", open, OUT .. "/link_dir/secret.txt")
try("read symlinked file", open, OUT .. "/link_file")
try("read link in own folder", open, PROJ .. "/link/secret.txt")
try("write dangling link", create, OUT .. "/dangling")
try("write own folder", create, PROJ .. "/new.txt")
try("write ../", create, OUT .. "/../escaped.txt")
try("write missing/../..", create, OUT .. "/missing/../../escaped.txt")
try("read data", open, DATA .. "/d.txt")
try("io.lines", function() for l in io.lines(SECRET .. "/secret.txt") do end end)
try("io.input", io.input, SECRET .. "/secret.txt")
try("io.output", io.output, SECRET .. "/new.txt")
try("os.remove", os.remove, SECRET .. "/secret.txt")
try("os.rename", os.rename, OUT .. "/w.txt", SECRET .. "/moved.txt")
try("loadfile", loadfile, SECRET .. "/mod.lua")
try("dofile", dofile, SECRET .. "/mod.lua")
try("require outside", function() package.path = SECRET .. "/?.lua;" .. package.path; return require "mod" end)
try("searchpath oracle", function() assert(package.searchpath("mod", SECRET .. "/?.lua") == nil, "found") end)
try("load binary", function() assert(load(string.dump(function() end)) == nil, "binary chunk loaded") end)
try("load mode b", load, string.dump(function() end), "x", "b")
try("mat.load_npy", mat.load_npy, SECRET .. "/secret.txt")
try("mat.save_npy", mat.save_npy, SECRET .. "/m.npy", mat.zeros(2))
try("mat.save_npz", mat.save_npz, SECRET .. "/m.npz", {a = mat.zeros(2)})
try("data.load", data.load, SECRET)
try("data.save", function() data.grand(2, 2, 2, {seed = 1}):save(SECRET .. "/ds") end)
try("sys.spawn", sys.spawn, {"/bin/sh", "-c", "touch " .. SENT})
try("sys.kill", sys.kill, 1, 0)
try("sys.setenv", sys.setenv, "HARDMAX_GNUPLOT", "/bin/sh")
try("sys.write_atomic", sys.write_atomic, SECRET .. "/w.txt", "x")
try("sys.mkdir_p", sys.mkdir_p, SECRET .. "/d")
try("sys.listdir", sys.listdir, SECRET)
try("sys.stat", sys.stat, SECRET .. "/secret.txt")
try("sys.sha256_file", sys.sha256_file, SECRET .. "/secret.txt")
try("sys.realpath", sys.realpath, SECRET)
try("sys.mkdtemp", sys.mkdtemp, SECRET .. "/t-")
try("sys.lock_create", sys.lock_create, SECRET .. "/run-", ".lock")
try("sys.lock_open", sys.lock_open, SECRET .. "/secret.txt")
try("sys.remove_dead", sys.remove_dead, SECRET .. "/secret.txt")
try("plot outside", function() local f = plot.figure{}; f:line({1, 2}, {1, 2}); f:save(SECRET .. "/f.png") end)
try("sandbox again", function() require("hardmax").sandbox{write = {"/"}} end)
-- what must keep working
try("write out", create, OUT .. "/w.txt")
try("read back", function() assert(open(OUT .. "/w.txt") == "x") end)
try("read own folder", open, PROJ .. "/helper.lua")
try("require sibling", require, "helper")
try("mat round trip", function() mat.save_npy(OUT .. "/m.npy", mat.ones(3)); assert(mat.load_npy(OUT .. "/m.npy"):sum() == 3) end)
try("plot inside", function()
  local f = plot.figure{title = "sandboxed `touch " .. SENT .. "`"}
  f:line({1, 2, 3}, {1, 4, 9}, {label = "x'; system('touch " .. SENT .. "'); '"})
  f:save(OUT .. "/fig.png")
end)
try("exp workers", function()
  local r = exp.sweep{grid = {a = {1, 2}}, runs = 2, seed = 1, workers = 2, out = OUT .. "/sweep", progress = false,
    run = function(cfg, run, g) return {v = cfg.a + run} end}
  assert(#r == 4, "trials: " .. #r)
end)
try("exp workers, no out", function()
  local r = exp.sweep{grid = {a = {1, 2}}, runs = 1, seed = 1, workers = 2, progress = false,
    run = function(cfg) return {v = cfg.a} end}
  assert(#r == 2, "trials: " .. #r)
end)
try("exp failing trial", function()
  local r = exp.sweep{grid = {a = {1}}, runs = 1, seed = 1, out = OUT .. "/failing", progress = false,
    run = function() error("boom") end}
  assert(r[1].status ~= "ok" and tostring(r[1].error):find("boom"), "status " .. tostring(r[1].status))
end)
try("sandboxed()", function() local s = require("hardmax").sandboxed(); assert(s and #s.write >= 1) end)
]==]

local root
local tmpdirs = {}
local function setup()
  local p = io.popen("mktemp -d")
  root = p:read("l")
  p:close()
  tmpdirs[#tmpdirs + 1] = root
  for _, d in ipairs({ "proj", "secret", "data", "out" }) do assert(sh("mkdir -p " .. q(root .. "/" .. d))) end
  writefile(root .. "/secret/secret.txt", "the secret\n")
  writefile(root .. "/secret/mod.lua", "os.exit(7)\n")
  writefile(root .. "/data/d.txt", "data\n")
  writefile(root .. "/proj/helper.lua", "return {}\n")
  writefile(root .. "/proj/script.lua", UNTRUSTED)
  assert(sh("ln -s " .. q(root .. "/secret") .. " " .. q(root .. "/out/link_dir")))
  assert(sh("ln -s " .. q(root .. "/secret/secret.txt") .. " " .. q(root .. "/out/link_file")))
  assert(sh("ln -s " .. q(root .. "/secret/planted.txt") .. " " .. q(root .. "/out/dangling")))
  assert(sh("ln -s " .. q(root .. "/secret") .. " " .. q(root .. "/proj/link")))
end

local function script_args()
  local r = root
  return table.concat({ q(r .. "/proj/script.lua"), "--out", q(r .. "/out"), q(r .. "/secret"), q(r .. "/data"),
    q(r .. "/proj"), q(r .. "/pwned") }, " ")
end

local function parse(out)
  local res = {}
  for line in out:gmatch("[^\n]+") do
    local name, status, msg = line:match("^([^\t]+)\t(%a+)\t(.*)$")
    if name then res[name] = { status = status, msg = msg } end
  end
  return res
end

local function run(cmd)
  local p = io.popen("cd " .. q(root) .. " && " .. cmd .. " 2>" .. q(root .. "/stderr.txt"))
  local out = p:read("a")
  local ok = p:close()
  return parse(out), out, ok, readfile(root .. "/stderr.txt") or ""
end

local DENIED = {
  ["os.execute"] = "^sandbox: os%.execute is disabled$",
  ["io.popen"] = "^sandbox: io%.popen is disabled$",
  ["os.tmpname"] = "^sandbox: os%.tmpname is disabled$",
  ["package.loadlib"] = "^sandbox: package%.loadlib is disabled$",
  ["read secret"] = "^sandbox: io%.open: '[^']*/secret/secret%.txt' is outside the allowed paths$",
  ["read ../secret"] = "^sandbox: io%.open: '[^']*/proj/%.%./secret/secret%.txt' %([^)]*/secret/secret%.txt%) is outside the allowed paths$",
  ["read out/../secret"] = "^sandbox: io%.open: .* is outside the allowed paths$",
  ["read symlinked dir"] = "^sandbox: io%.open: '[^']*/out/link_dir/secret%.txt' %([^)]*/secret/secret%.txt%) is outside the allowed paths$",
  ["read symlinked file"] = "^sandbox: io%.open: .*%(.*/secret/secret%.txt%) is outside the allowed paths$",
  ["read link in own folder"] = "^sandbox: io%.open: .* is outside the allowed paths$",
  ["write dangling link"] = "^sandbox: io%.open: '[^']*/out/dangling' is a dangling symbolic link$",
  ["write own folder"] = "^sandbox: io%.open: '[^']*/proj/new%.txt' is outside the writable paths$",
  ["write ../"] = "^sandbox: io%.open: .* is outside the writable paths$",
  ["write missing/../.."] = "^sandbox: io%.open: .* goes through '%.%.' below a directory that does not exist$",
  ["io.lines"] = "^sandbox: io%.lines: .* is outside the allowed paths$",
  ["io.input"] = "^sandbox: io%.input: .* is outside the allowed paths$",
  ["io.output"] = "^sandbox: io%.output: .* is outside the writable paths$",
  ["os.remove"] = "^sandbox: os%.remove: .* is outside the writable paths$",
  ["os.rename"] = "^sandbox: os%.rename: .* is outside the writable paths$",
  ["loadfile"] = "^sandbox: loadfile: .* is outside the allowed paths$",
  ["dofile"] = "^sandbox: dofile: .* is outside the allowed paths$",
  ["require outside"] = "module 'mod' not found",
  ["load mode b"] = "^sandbox: load: binary chunks are disabled$",
  ["mat.load_npy"] = "^sandbox: mat%.load_npy: .* is outside the allowed paths$",
  ["mat.save_npy"] = "^sandbox: mat%.save_npy: .* is outside the writable paths$",
  ["mat.save_npz"] = "^sandbox: mat%.save_npz: .* is outside the writable paths$",
  ["data.load"] = "^sandbox: data%.load: .* is outside the allowed paths$",
  ["data.save"] = "^sandbox: data%.save: .* is outside the writable paths$",
  ["sys.spawn"] = "^sandbox: sys%.spawn is disabled$",
  ["sys.kill"] = "^sandbox: sys%.kill is disabled$",
  ["sys.setenv"] = "^sandbox: sys%.setenv is disabled$",
  ["sys.write_atomic"] = "^sandbox: sys%.write_atomic: .* is outside the writable paths$",
  ["sys.mkdir_p"] = "^sandbox: sys%.mkdir_p: .* is outside the writable paths$",
  ["sys.listdir"] = "^sandbox: sys%.listdir: .* is outside the allowed paths$",
  ["sys.stat"] = "^sandbox: sys%.stat: .* is outside the allowed paths$",
  ["sys.sha256_file"] = "^sandbox: sys%.sha256_file: .* is outside the allowed paths$",
  ["sys.realpath"] = "^sandbox: sys%.realpath: .* is outside the allowed paths$",
  ["sys.mkdtemp"] = "^sandbox: sys%.mkdtemp: .* is outside the writable paths$",
  ["sys.lock_create"] = "^sandbox: sys%.lock_create: .* is outside the writable paths$",
  ["sys.lock_open"] = "^sandbox: sys%.lock_open: .* is outside the writable paths$",
  ["sys.remove_dead"] = "^sandbox: sys%.remove_dead: .* is outside the writable paths$",
  ["plot outside"] = "^sandbox: sys%.mkdir_p: .* is outside the writable paths$",
  ["sandbox again"] = "^hardmax%.sandbox: the sandbox is already on",
}
local ALLOWED = { "debug", "exp failing trial", "C searcher", "searchpath oracle", "load binary", "write out", "read back",
  "read own folder", "require sibling", "mat round trip", "plot inside", "exp workers", "exp workers, no out", "sandboxed()" }

local function check(res, out, with_data)
  for name, pat in pairs(DENIED) do
    local r = res[name]
    assert.truthy(r, name .. " did not report:\n" .. out)
    assert.are.equal("err", r.status, name .. " was allowed")
    assert.truthy(r.msg:find(pat), name .. ": " .. r.msg)
  end
  for _, name in ipairs(ALLOWED) do
    assert.truthy(res[name], name .. " did not report:\n" .. out)
    assert.are.equal("ok", res[name].status, name .. ": " .. res[name].msg)
  end
  if with_data then
    assert.are.equal("ok", res["read data"].status, res["read data"].msg)
  else
    assert.truthy(res["read data"].msg:find("^sandbox: io%.open: .* is outside the allowed paths$"), res["read data"].msg)
  end
  -- no trace: no command ran, nothing was written or moved outside
  assert.is_nil(readfile(root .. "/pwned"), "a command ran")
  assert.are.equal("the secret\n", readfile(root .. "/secret/secret.txt"))
  for _, f in ipairs({ "/secret/planted.txt", "/secret/new.txt", "/secret/moved.txt", "/secret/m.npy", "/secret/m.npz",
      "/secret/w.txt", "/secret/f.png", "/proj/new.txt", "/escaped.txt" }) do
    assert.is_nil(readfile(root .. f), f .. " was written")
  end
  assert.truthy(#readfile(root .. "/out/fig.png") > 1000)
  assert.truthy(readfile(root .. "/out/fig.gp"):find("'x''; system(''touch ", 1, true))
  assert.truthy(readfile(root .. "/out/sweep/results.jsonl"))
end

describe("sandbox", function()
  before_each(setup)
  teardown(function() for _, d in ipairs(tmpdirs) do os.execute("rm -rf " .. q(d)) end end)

  it("hardmax --sandbox: every escape fails by name, plot/exp/files work inside", function()
    local res, out, ok, err = run(q(H) .. " --sandbox --allow-read " .. q(root .. "/data") .. " " .. script_args())
    assert.is_true(ok, out .. err)
    check(res, out, true)
    -- parallel workers fall back to this process, saying why
    assert.truthy(err:find("exp.sweep: sandbox: parallel workers (2 jobs) are disabled in the sandbox; running the trials in this process", 1, true), err)
  end)

  it("without --allow-read the data folder is outside too", function()
    local res, out = run(q(H) .. " --sandbox " .. script_args())
    check(res, out, false)
  end)

  it("hardmax.sandbox{} does the same from stock lua5.4 with hardmax.so", function()
    if not sh("command -v lua5.4 >/dev/null") then return pending("lua5.4 not installed") end
    local setup_chunk = ("local hm = require 'hardmax'; hm.sandbox{write = {%q}, read = {%q, %q}}; " ..
      "for k, v in pairs{mat = hm.mat, data = hm.data, plot = require 'hardmax.plot', exp = require 'hardmax.exp'} do _G[k] = v end; " ..
      "package.path = %q .. package.path"):format(root .. "/out", root .. "/proj", root .. "/data", root .. "/proj/?.lua;")
    local res, out, ok, err = run(dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/file_helpers.lua").lua54_preload() .. "lua5.4 -e " .. q(setup_chunk) .. " " .. script_args())
    assert.is_true(ok, out .. err)
    check(res, out, true)
  end)

  it("the default output folder is ./out, and a planted ./out link is refused", function()
    assert(sh("mkdir -p " .. q(root .. "/cwd")))
    writefile(root .. "/proj/w.lua", "local f = assert(io.open('out/x.txt', 'w')); f:write('1'); f:close()\n" ..
      "print(pcall(io.open, '../secret/secret.txt'))\n")
    local p = io.popen("cd " .. q(root .. "/cwd") .. " && " .. q(H) .. " --sandbox ../proj/w.lua 2>&1")
    local out = p:read("a")
    assert.is_true(p:close(), out)
    assert.are.equal("1", readfile(root .. "/cwd/out/x.txt"))
    assert.truthy(out:find("false\tsandbox: io.open: '../secret/secret.txt'", 1, true), out)
    os.execute("rm -rf " .. q(root .. "/cwd/out") .. " && ln -s " .. q(root .. "/secret") .. " " .. q(root .. "/cwd/out"))
    p = io.popen("cd " .. q(root .. "/cwd") .. " && " .. q(H) .. " --sandbox ../proj/w.lua 2>&1; echo \"rc=$?\"")
    out = p:read("a")
    p:close()
    assert.truthy(out:find("--sandbox: ./out is a symbolic link; name the output directory with --out DIR", 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
    assert.is_nil(readfile(root .. "/secret/x.txt"))
  end)

  it("rejects bad sandbox options before running anything", function()
    local p = io.popen(q(H) .. " --sandbox --allow-read " .. q(root .. "/nonexistent") .. " -e 'print(1)' 2>&1; echo \"rc=$?\"")
    local out = p:read("a")
    p:close()
    assert.truthy(out:find("--sandbox: --allow-read: cannot resolve '" .. root .. "/nonexistent': No such file or directory", 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
    assert.falsy(out:find("^1\n"), out)
    p = io.popen(q(H) .. " --allow-read 2>&1; echo \"rc=$?\"")
    out = p:read("a")
    p:close()
    assert.truthy(out:find("'--allow-read' needs argument", 1, true), out)
  end)

  it("is off unless asked for", function()
    assert.is_nil(require("hardmax").sandboxed())
    assert.is_false(require("hardmax.sys").sandboxed())
  end)
end)

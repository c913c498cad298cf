-- hardmax.kernel — the Jupyter kernel (messaging protocol v5.3): `hardmax --kernel FILE`.
-- Internal module of the host (it needs the host's "hardmax.kernel_wire", src/kernel_wire.c,
-- for sockets, signatures and output capture); what a notebook user gets is docs/jupyter.md.
--
-- One lua_State serves every cell, so globals persist between cells as in the REPL, and a
-- cell is compiled as the REPL compiles a line: first as `return <cell>` (an expression whose
-- values are shown), else as statements; a cell of statements ending in a bare expression
-- line shows that line's values. Streams, results, figures and errors are published on iopub
-- with the request as parent, between a busy and an idle status.
local json = require "hardmax.json"
local sys = require "hardmax.sys"
local display = require "hardmax.kernel_display"

local M = {}

local PROTOCOL = "5.3"
local FLUSH_INTERVAL = 0.05 -- seconds between stream messages while a cell prints

-- json.lua writes anything with :totable() as an array, so this is the empty array "[]"
-- (an empty Lua table would be written as {})
local EMPTY = setmetatable({}, { __index = { totable = function() return {} end } })
local function array(t) return #t > 0 and t or EMPTY end

local wire
local K = { count = 0, parent = "{}", last_flush = 0, queue = {} }

-- messages ------------------------------------------------------------------------------

local function header(msg_type)
  return json.encode{ msg_id = wire.uuid(), session = K.session, username = "hardmax",
                      date = wire.now(), msg_type = msg_type, version = PROTOCOL }
end

local function reply(req, msg_type, content)
  wire.send(req.channel, req.ids, header(msg_type), req.raw_header, "{}", json.encode(content))
end

local function publish(msg_type, content)
  wire.send("iopub", { "kernel." .. K.session .. "." .. msg_type }, header(msg_type), K.parent,
            "{}", json.encode(content))
end
M.publish = publish

-- Text on the wire must be UTF-8: bytes that are not (e.g. a multibyte character cut by a
-- drain) become U+FFFD.
local function utf8_clean(s)
  local out, i = {}, 1
  while i <= #s do
    local ok, bad = utf8.len(s, i)
    if ok then out[#out + 1] = s:sub(i) break end
    out[#out + 1] = s:sub(i, bad - 1) .. "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end
M.utf8_clean = utf8_clean

local function flush_streams()
  local out, err = wire.drain()
  if out ~= "" then publish("stream", { name = "stdout", text = utf8_clean(out) }) end
  if err ~= "" then publish("stream", { name = "stderr", text = utf8_clean(err) }) end
  K.last_flush = sys.time()
end

-- print (and everything else on fds 1 and 2) is captured; print also flushes the capture
-- every FLUSH_INTERVAL so that a long cell's progress lines appear while it runs
local function install_print()
  local base = print
  print = function(...)
    base(...)
    if sys.time() - K.last_flush >= FLUSH_INTERVAL then flush_streams() end
  end
end

-- compiling a cell ------------------------------------------------------------------------

local function last_line_split(code)
  local body, last = code:match("^(.*\n)([^\n]*%S[^\n]*)%s*$")
  if not body then return nil end
  return body .. "return " .. last .. "\n;"
end

-- The cell as a function: `return <cell>`, the cell itself, or the cell with its last line
-- returned (only when the cell alone does not compile, so statements keep their meaning).
function M.compile(code, name)
  local f = load("return " .. code .. "\n;", name, "t")
  if f then return f end
  local err
  f, err = load(code, name, "t")
  if f then return f end
  local split = last_line_split(code)
  local g = split and load(split, name, "t")
  if g then return g end
  return nil, err
end

-- "complete" | "incomplete" | "invalid", as the REPL decides when to read another line
function M.is_complete(code)
  if load("return " .. code .. "\n;", "=cell", "t") then return "complete" end
  local f, err = load(code, "=cell", "t")
  if f then return "complete" end
  local _, err2 = load("return " .. code, "=cell", "t")
  if err:sub(-5) == "<eof>" or err2:sub(-5) == "<eof>" then return "incomplete" end
  return "invalid"
end

-- errors ----------------------------------------------------------------------------------

-- The traceback without the kernel's own frames (everything from the docall that ran the
-- cell outwards).
function M.error_content(msg)
  msg = tostring(msg)
  local lines = {}
  for line in (msg .. "\n"):gmatch("([^\n]*)\n") do
    if line:find("kernel_wire", 1, true) or line:find("hardmax/kernel", 1, true)
       or line:find("in field 'docall'", 1, true) or line:find("in function 'docall'", 1, true) then
      break
    end
    lines[#lines + 1] = line
  end
  if lines[#lines] == "stack traceback:" then lines[#lines] = nil end
  local first = lines[1] or msg
  -- Lua's hook says "interrupted!", a polling C function "<fn>: interrupted ..."
  local interrupted = first:find("%f[%a]interrupted%f[%A]") ~= nil
  return { ename = interrupted and "Interrupted" or "LuaError", evalue = first,
           traceback = array(lines) }
end

-- requests --------------------------------------------------------------------------------

-- the request from wire.recv's results, or nil (logged) when it is not JSON
local function decode(channel, ids, h, parent, _, content)
  local okh, hdr = pcall(json.decode, h)
  local okc, body = pcall(json.decode, content)
  if okh and okc and type(hdr) == "table" and type(body) == "table" then
    return { channel = channel, ids = ids, header = hdr, raw_header = h, parent = parent, content = body }
  end
  wire.log("dropped a message that is not JSON")
end

-- The requests already waiting, in order (those the client sent before it could know the
-- outcome of the request being answered).
local function waiting_requests()
  local q = {}
  while true do
    local r = table.pack(wire.recv(0))
    if r.n == 0 or r[1] == nil then return q end
    q[#q + 1] = decode(table.unpack(r, 1, 6))
  end
end

local handlers = {}

function handlers.kernel_info_request(req)
  local cfg = hardmax.config()
  reply(req, "kernel_info_reply", {
    status = "ok", protocol_version = PROTOCOL, implementation = "hardmax",
    implementation_version = cfg.version,
    language_info = { name = "lua", version = cfg.lua:match("%d+%.%d+%.?%d*") or "5.4",
                      mimetype = "text/x-lua", file_extension = ".lua", pygments_lexer = "lua",
                      codemirror_mode = "lua" },
    banner = ("hardmax %s (git %s), %s, %s"):format(cfg.version, cfg.git_commit, cfg.lua, cfg.openblas),
    help_links = EMPTY,
  })
end

-- The values of a cell, as the REPL prints them (tab separated, nil included); figures
-- among them are shown as images instead.
local function show_results(results)
  local text, n, single = {}, 0, nil
  for i = 2, results.n do
    local v = results[i]
    if display.is_figure(v) then
      display.figure(v)
    else
      n = n + 1
      text[n], single = tostring(v), v
    end
  end
  if n == 0 then return end
  local data = { ["text/plain"] = table.concat(text, "\t") }
  local html = n == 1 and display.html(single)
  if html then data["text/html"] = html end
  publish("execute_result", { execution_count = K.count, data = data, metadata = {} })
end

function handlers.execute_request(req)
  local c = req.content
  local code = c.code or ""
  local silent = c.silent == true
  local store = c.store_history ~= false and not silent
  if store then K.count = K.count + 1 end
  if not silent then publish("execute_input", { code = code, execution_count = K.count }) end
  local f, err = M.compile(code, ("=In[%d]"):format(K.count))
  local ok, results
  if f then
    K.last_flush = sys.time()
    results = table.pack(wire.docall(f))
    ok = results[1]
    err = results[2]
  end
  flush_streams()
  if ok then
    -- a value whose __tostring fails, or a figure gnuplot cannot render, must not cost the
    -- reply: say so on stderr instead
    local shown, why = true, nil
    if not silent then shown, why = pcall(show_results, results) end
    if not shown then publish("stream", { name = "stderr", text = "cannot display the result: " .. tostring(why) .. "\n" }) end
    reply(req, "execute_reply", { status = "ok", execution_count = K.count,
                                  user_expressions = {}, payload = EMPTY })
  else
    local e = M.error_content(err)
    -- After a failed cell the execute requests queued behind it are answered "aborted"
    -- instead of run, as ipykernel does: "Run All" stops at the first error. Only those
    -- already waiting now, before this reply tells the client about the error.
    if c.stop_on_error ~= false then
      for _, q in ipairs(waiting_requests()) do
        q.aborted = q.header.msg_type == "execute_request"
        K.queue[#K.queue + 1] = q
      end
    end
    publish("error", e)
    reply(req, "execute_reply", { status = "error", execution_count = K.count, ename = e.ename,
                                  evalue = e.evalue, traceback = e.traceback })
  end
end

-- byte offset of a cursor given in Unicode code points (protocol 5.2+)
local function byte_cursor(code, cursor)
  if type(cursor) ~= "number" then return #code end
  local b = utf8.offset(code, math.tointeger(cursor) + 1)
  return b and b - 1 or #code
end

function handlers.complete_request(req)
  local code, cursor = req.content.code or "", req.content.cursor_pos
  local b = byte_cursor(code, cursor)
  local prefix = code:sub(1, b)
  local ok, matches = pcall(hardmax.complete, prefix)
  if not ok then matches = {} end
  local word = prefix:match("[%w_.:]*$")
  local cpos = utf8.len(prefix) or #prefix
  reply(req, "complete_reply", { status = "ok", matches = array(matches),
                                 cursor_start = cpos - #word, cursor_end = cpos, metadata = {} })
end

function handlers.inspect_request(req)
  local code, cursor = req.content.code or "", req.content.cursor_pos
  local b = byte_cursor(code, cursor)
  local text = display.inspect(code, b)
  reply(req, "inspect_reply", { status = "ok", found = text ~= nil,
                                data = text and { ["text/plain"] = text } or {}, metadata = {} })
end

function handlers.is_complete_request(req)
  local status = M.is_complete(req.content.code or "")
  reply(req, "is_complete_reply", status == "incomplete" and { status = status, indent = "" }
                                   or { status = status })
end

function handlers.history_request(req)
  reply(req, "history_reply", { status = "ok", history = EMPTY })
end

function handlers.comm_info_request(req)
  reply(req, "comm_info_reply", { status = "ok", comms = {} })
end

function handlers.interrupt_request(req)
  -- the control relay already sent SIGINT to the running cell (src/kernel_wire.c)
  reply(req, "interrupt_reply", { status = "ok" })
end

function handlers.shutdown_request(req)
  reply(req, "shutdown_reply", { status = "ok", restart = req.content.restart == true })
  return "stop"
end

local function dispatch(req)
  local h = handlers[req.header.msg_type]
  if req.aborted then
    h = function() reply(req, "execute_reply", { status = "aborted", execution_count = K.count }) end
  end
  if not h then
    wire.log("ignored " .. tostring(req.header.msg_type))
    return
  end
  K.parent = req.raw_header
  publish("status", { execution_state = "busy" })
  local ok, r = pcall(h, req)
  if not ok then
    -- a client waits for the reply: send an error reply rather than none
    wire.log(("%s failed: %s"):format(req.header.msg_type, tostring(r)))
    local msg = tostring(r)
    pcall(reply, req, (req.header.msg_type:gsub("_request$", "_reply")),
          { status = "error", ename = "KernelError", evalue = msg, traceback = { msg } })
  end
  publish("status", { execution_state = "idle" })
  return ok and r
end

-- entry points ----------------------------------------------------------------------------

--- open(connection_file): read it, bind the sockets, start capturing output. A sandbox
--- (hardmax --sandbox, issue 15 item 3) engages between open and serve, so that the
--- connection file and the figure directory are set up before its policy applies.
function M.open(connection_file)
  wire = require "hardmax.kernel_wire"
  local f, err = io.open(connection_file, "rb")
  if not f then error("kernel: " .. err, 0) end
  local text = f:read("a")
  f:close()
  local cfg = json.decode(text)
  K.session = wire.uuid()
  arg = { [0] = sys.exe() or "hardmax" } -- cells see no command line
  wire.open(cfg)
  install_print()
  display.setup(publish)
end

--- serve(): answer requests until a shutdown_request; returns the exit status.
function M.serve()
  publish("status", { execution_state = "starting" })
  while true do
    local req = table.remove(K.queue, 1) or decode(wire.recv())
    if req and dispatch(req) == "stop" then break end
  end
  wire.close()
  return 0
end

--- run(connection_file): open and serve.
function M.run(connection_file)
  M.open(connection_file)
  return M.serve()
end

local function data_dir()
  local d = os.getenv("JUPYTER_DATA_DIR")
  if d and d ~= "" then return d end
  local xdg = os.getenv("XDG_DATA_HOME")
  if xdg and xdg ~= "" then return xdg .. "/jupyter" end
  local home = os.getenv("HOME")
  if not home or home == "" then error("hardmax --install-kernel: HOME is not set (use --prefix DIR)", 0) end
  return home .. "/.local/share/jupyter"
end

local USAGE = "usage: hardmax --install-kernel [--user | --prefix DIR] [--sandbox] [--name NAME] [--display-name TEXT] [-- HOST_OPTION...]"

--- install(args...): write NAME/kernel.json under the Jupyter data dir (--user, the
--- default: $JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter) or
--- DIR/share/jupyter (--prefix DIR, as `jupyter kernelspec install --prefix`). Words after
--- `--` are host options the kernel is started with (`-- --native`, `-- --threads 4`).
--- --sandbox installs a kernel that runs `hardmax --sandbox --kernel` (named hardmax-sandbox
--- unless --name says otherwise): for notebooks from someone else.
function M.install(...)
  local a = { ... }
  local root, name, display_name, sandbox
  local host_options = {}
  local i = 1
  while i <= #a do
    local w = a[i]
    if w == "--" then
      table.move(a, i + 1, #a, 1, host_options)
      break
    elseif w == "--sandbox" then
      sandbox = true
    elseif w == "--user" then
      root = data_dir()
    elseif w == "--prefix" and a[i + 1] then
      root = a[i + 1] .. "/share/jupyter"; i = i + 1
    elseif w == "--name" and a[i + 1] then
      name = a[i + 1]; i = i + 1
    elseif w == "--display-name" and a[i + 1] then
      display_name = a[i + 1]; i = i + 1
    else
      io.stderr:write(("hardmax --install-kernel: unexpected '%s'\n%s\n"):format(w, USAGE))
      return 2
    end
    i = i + 1
  end
  if sandbox then table.insert(host_options, 1, "--sandbox") end
  name = name or (sandbox and "hardmax-sandbox" or "hardmax")
  if not name:match("^[%w._-]+$") then
    io.stderr:write(("hardmax --install-kernel: --name: letters, digits, '.', '_', '-' expected, got '%s'\n"):format(name))
    return 2
  end
  local dir = (root or data_dir()) .. "/kernels/" .. name
  local exe = sys.exe()
  if not exe then error("hardmax --install-kernel: cannot find the hardmax executable (/proc/self/exe)", 0) end
  sys.mkdir_p(dir)
  local argv = { exe }
  table.move(host_options, 1, #host_options, 2, argv)
  table.move({ "--kernel", "{connection_file}" }, 1, 2, #argv + 1, argv)
  local spec = { argv = argv,
                 display_name = display_name or (sandbox and "hardmax (sandbox)" or "hardmax (Lua 5.4)"),
                 language = "lua",
                 interrupt_mode = "message", metadata = { debugger = false } }
  sys.write_atomic(dir .. "/kernel.json", json.encode(spec, { indent = " " }) .. "\n")
  print(("installed kernelspec %s in %s"):format(name, dir))
  return 0
end

return M

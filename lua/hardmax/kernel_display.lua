-- hardmax.kernel_display — what the Jupyter kernel shows (internal, see hardmax.kernel and
-- docs/jupyter.md): figures as PNG + SVG display_data, mat and model values as a text and an
-- HTML table, and the doc line of a name for inspect_request.
local sys = require "hardmax.sys"

local M = {}

local plot_ok, plot = pcall(require, "hardmax.plot")
if not plot_ok then plot = nil end

local getinfo = debug.getinfo -- kept: a sandbox removes the debug library from the state
local MAX_ROWS, MAX_COLS = 30, 20 -- HTML tables show at most this much of a mat

local publish, tmpdir, nfig = nil, nil, 0

-- The host's transport once hardmax.kernel opened it, else nil. Never `require`d from here:
-- outside the kernel the C searcher would go looking in package.cpath and load a second
-- copy of hardmax.so into the process.
local function wire() return package.loaded["hardmax.kernel_wire"] end

local function read_file(path)
  local ok, f = pcall(io.open, path, "rb") -- a sandbox raises for paths outside its folders
  if not ok then return nil end
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- PNG width from the IHDR chunk; figures are rendered at 200 dpi and shown at half that
-- size so they look like the paper figure, not like a poster
local function png_width(s)
  if #s < 24 or s:sub(2, 4) ~= "PNG" then return nil end
  return string.unpack(">I4", s, 17)
end

local function show_image(png_path, svg_path)
  local data, metadata = {}, {}
  local png = png_path and read_file(png_path)
  if png then
    data["image/png"] = wire().base64(png)
    local w = png_width(png)
    if w then metadata["image/png"] = { width = w // 2 } end
  end
  local svg = svg_path and read_file(svg_path)
  if svg then data["image/svg+xml"] = svg end
  if next(data) == nil then return end
  data["text/plain"] = "<figure>"
  publish("display_data", { data = data, metadata = metadata, transient = {} })
end

local function has(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

-- After a figure is saved (f:save, plot.panels), show the image that was written.
local function shown_after(save)
  return function(...)
    local r = table.pack(save(...))
    local path = r[1]
    if type(path) == "string" then
      local base, ext = path:match("^(.*)%.(%a+)$")
      local opts = select(select("#", ...), ...)
      local also = type(opts) == "table" and opts.also or nil
      -- the figure is saved whatever happens to its display
      if ext == "png" then
        pcall(show_image, path, has(also, "svg") and base .. ".svg" or nil)
      elseif ext == "svg" then
        pcall(show_image, has(also, "png") and base .. ".png" or nil, path)
      end
    end
    return table.unpack(r, 1, r.n)
  end
end

local original_save -- Figure.save before setup wrapped it

function M.setup(pub)
  publish = pub
  tmpdir = wire().figure_dir()
  if plot then
    original_save = plot.Figure.save
    plot.Figure.save = shown_after(plot.Figure.save)
    plot.panels = shown_after(plot.panels)
  end
end

function M.is_figure(v)
  return plot ~= nil and type(v) == "table" and getmetatable(v) == plot.Figure
end

-- A figure value: rendered (PNG and SVG from one gnuplot script) into a private temporary
-- directory, shown, and its files removed.
function M.figure(fig)
  nfig = nfig + 1
  local base = ("%s/figure%d"):format(tmpdir, nfig)
  local ok, err = pcall(original_save, fig, base .. ".png", { also = { "svg" } })
  if ok then show_image(base .. ".png", base .. ".svg") end
  for _, ext in ipairs{ "png", "svg", "gp", "dat" } do os.remove(base .. "." .. ext) end
  if not ok then error(err, 0) end
end

-- HTML -----------------------------------------------------------------------------------

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function typename(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__name") or type(v)
end

local function num(x) return ("%.6g"):format(x) end

-- one rank-2 table (rows x cols, get(i, j)); the corner beyond MAX_ROWS x MAX_COLS is elided
local function html_table(rows, cols, get)
  local out = { "<table>" }
  local nr, nc = math.min(rows, MAX_ROWS), math.min(cols, MAX_COLS)
  out[#out + 1] = "<tr><th></th>"
  for j = 1, nc do out[#out + 1] = ("<th>%d</th>"):format(j) end
  if nc < cols then out[#out + 1] = "<th>…</th>" end
  out[#out + 1] = "</tr>"
  for i = 1, nr do
    out[#out + 1] = ("<tr><th>%d</th>"):format(i)
    for j = 1, nc do out[#out + 1] = "<td>" .. num(get(i, j)) .. "</td>" end
    if nc < cols then out[#out + 1] = "<td>…</td>" end
    out[#out + 1] = "</tr>"
  end
  if nr < rows then out[#out + 1] = ("<tr><th>…</th><td colspan=\"%d\">%d more rows</td></tr>"):format(nc, rows - nr) end
  out[#out + 1] = "</table>"
  return table.concat(out)
end

local function mat_html(A)
  local shape = { A:shape() }
  local caption = ("<p>mat %s</p>"):format(table.concat(shape, "x"))
  if #shape == 1 then
    return caption .. html_table(1, shape[1], function(_, j) return A[j] end)
  elseif #shape == 2 then
    return caption .. html_table(shape[1], shape[2], function(i, j) return A[i][j] end)
  end
  local parts = { caption }
  for s = 1, math.min(shape[1], 4) do
    local S = A[s]
    parts[#parts + 1] = ("<p>[%d]</p>"):format(s) .. html_table(shape[2], shape[3], function(i, j) return S[i][j] end)
  end
  if shape[1] > 4 then parts[#parts + 1] = ("<p>… %d more</p>"):format(shape[1] - 4) end
  return table.concat(parts)
end

-- model(param=KQ, d=4, ...) as a two-column table of its description
local function model_html(m)
  local inner = tostring(m):match("^model%((.*)%)$")
  if not inner then return nil end
  local out = { "<table><tr><th colspan=\"2\">model</th></tr>" }
  for k, v in inner:gmatch("([%w_]+)=([^,]+)") do
    out[#out + 1] = ("<tr><td>%s</td><td>%s</td></tr>"):format(esc(k), esc(v))
  end
  out[#out + 1] = "</table>"
  return table.concat(out)
end

function M.html(v)
  local t = typename(v)
  if t == "hardmax.mat" then
    local ok, h = pcall(mat_html, v)
    return ok and h or nil
  elseif t == "hardmax.model" then
    return model_html(v)
  end
  return nil
end

-- inspection -----------------------------------------------------------------------------

-- The raw look-ups completion makes (hardmax.complete): tables, their metatables' __index
-- tables, and __methods of userdata; never a metamethod call.
local function field(v, k)
  for _ = 1, 8 do
    if type(v) == "table" then
      local x = rawget(v, k)
      if x ~= nil then return x end
    end
    local mt = getmetatable(v)
    if type(mt) ~= "table" then return nil end
    local idx = rawget(mt, "__index")
    if type(idx) ~= "table" then idx = rawget(mt, "__methods") end
    if type(idx) ~= "table" then return nil end
    v = idx
  end
end

local function resolve(name)
  local v = _G
  for part in name:gmatch("[^.:]+") do
    v = field(v, part)
    if v == nil then return nil end
  end
  return v
end

local function docs_dir()
  local d = os.getenv("HARDMAX_DOCS")
  if d and d ~= "" then return d end
  return wire() and wire().source_dir .. "/docs" or nil
end

-- The `---` comment block right above a Lua function's definition.
local function lua_doc(f)
  local info = getinfo(f, "S")
  local src = info.source:match("^@(.*)$")
  if not src or info.linedefined < 1 then return nil end
  local text = read_file(src) or (wire() and read_file(wire().source_dir .. "/" .. src))
  if not text then return nil end
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local doc = {}
  for i = info.linedefined - 1, 1, -1 do
    local c = lines[i] and lines[i]:match("^%s*%-%-%-? ?(.*)$")
    if not c then break end
    table.insert(doc, 1, c)
  end
  return #doc > 0 and table.concat(doc, "\n") or nil
end

-- The first line of docs/*.md that documents name: `mat.zeros(` (or, for a method, `X:shape(`
-- with any receiver) in the module's own page first (own: "mat" for mat.zeros and for a
-- method of a mat), then anywhere, then a bare `mat.zeros`.
local function md_doc(name, own)
  local dir = docs_dir()
  if not dir then return nil end
  local ok, files = pcall(sys.listdir, dir)
  if not ok then return nil end
  own = own or name:match("^([%w_]+)[.:]") or name
  table.sort(files, function(x, y)
    local ox, oy = x == own .. ".md", y == own .. ".md"
    if ox ~= oy then return ox end
    return x < y
  end)
  local method = name:match(":([%w_]+)$")
  local quoted = method and ("`[%w_]+:" .. method) or ("`" .. name:gsub("%p", "%%%0"))
  for _, pat in ipairs{ quoted .. "%(", quoted .. "%f[^%w_.:]" } do
    for _, file in ipairs(files) do
      if file:match("%.md$") then
        local text = read_file(dir .. "/" .. file) or ""
        for line in text:gmatch("[^\n]+") do
          if line:find(pat) then
            local clean = line:gsub("^%s*[|*#-]+%s*", ""):gsub("%s*|%s*$", ""):gsub("%s*|%s*", " — ")
            return clean .. "  (docs/" .. file .. ")"
          end
        end
      end
    end
  end
  return nil
end

--- inspect(code, byte_cursor) -> text or nil: the name around the cursor, its type and its
--- doc line (the comment above a Lua function, else the line of docs/*.md naming it).
function M.inspect(code, b)
  local left = code:sub(1, b):match("[%w_.:]*$")
  local right = code:sub(b + 1):match("^[%w_]*")
  local name = (left .. right):gsub("^[.:]+", ""):gsub("[.:]+$", "")
  if name == "" then return nil end
  local v = resolve(name)
  if v == nil then return nil end
  local receiver = name:match("^(.*):[%w_]+$")
  local own = receiver and tostring(typename(resolve(receiver))):match("^hardmax%.(%w+)$")
  local out = { ("%s: %s"):format(name, typename(v)) }
  if type(v) == "function" then
    local info = getinfo(v, "S")
    local doc = (info.what ~= "C" and lua_doc(v)) or md_doc(name, own)
    if info.what ~= "C" then out[1] = out[1] .. (" (%s:%d)"):format(info.short_src, info.linedefined) end
    if doc then out[#out + 1] = doc end
  else
    local doc = md_doc(name, own)
    if doc then out[#out + 1] = doc end
    local s = tostring(v)
    out[#out + 1] = #s > 2000 and s:sub(1, 2000) .. "…" or s
  end
  return table.concat(out, "\n")
end

return M

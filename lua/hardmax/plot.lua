-- hardmax.plot — figures as a gnuplot script plus data next to the image.
--
--   local f = plot.figure{title = "...", xlabel = "iteration t", ylabel = "‖W‖_F", log = "xy"}
--   f:mean_std(t, mean, std, {label = "normalized GD"})
--   f:save("out/fig1.png")   -- writes fig1.gp + fig1.dat, runs gnuplot once, checks fig1.png
--
-- `cd out && gnuplot fig1.gp` re-renders the figure without rerunning the experiment.
-- See docs/plot.md.
local sys = require "hardmax.sys"

local M = {}
local fmt, concat, mtype = string.format, table.concat, math.type

local util = require "hardmax.util"
local fail, check_options = util.fail, util.check_options

-- paper-friendly defaults: colour-blind-safe palette (Okabe-Ito), 12 x 8 cm, 10 pt sans font
M.palette = { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000" }
M.defaults = { width = 12, height = 8, font = "Sans", fontsize = 10, linewidth = 1.5, dpi = 200 }

M.markers = {
  plus = 1, cross = 2, star = 3, open_square = 4, square = 5, open_circle = 6, circle = 7,
  open_triangle = 8, triangle = 9, open_inv_triangle = 10, inv_triangle = 11,
  open_diamond = 12, diamond = 13, open_pentagon = 14, pentagon = 15,
}
local marker_cycle = { "circle", "square", "triangle", "diamond", "inv_triangle", "pentagon" }

local greek = {
  alpha = "α", beta = "β", gamma = "γ", delta = "δ", epsilon = "ε", varepsilon = "ε",
  zeta = "ζ", eta = "η", theta = "θ", iota = "ι", kappa = "κ", lambda = "λ", mu = "μ", nu = "ν",
  xi = "ξ", pi = "π", rho = "ρ", sigma = "σ", tau = "τ", upsilon = "υ", phi = "φ", chi = "χ",
  psi = "ψ", omega = "ω", Gamma = "Γ", Delta = "Δ", Theta = "Θ", Lambda = "Λ", Xi = "Ξ",
  Pi = "Π", Sigma = "Σ", Phi = "Φ", Psi = "Ψ", Omega = "Ω", infty = "∞", star = "⋆",
  top = "⊤", cdot = "·", times = "×", le = "≤", ge = "≥", approx = "≈", to = "→",
  langle = "⟨", rangle = "⟩", Vert = "‖", nabla = "∇", partial = "∂", ell = "ℓ",
}

-- Label text for gnuplot's enhanced mode: \alpha etc. become UTF-8; x_t / x^2 / x_{ij}
-- are gnuplot's own sub/superscripts. For cairolatex the text is passed through as LaTeX.
local function label_text(s, latex)
  if not latex then
    s = s:gsub("\\(%a+)", function(name) return greek[name] or ("\\" .. name) end)
  end
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

local function num(x)
  if x ~= x or x == math.huge or x == -math.huge then return "NaN" end
  if mtype(x) == "integer" then return fmt("%d", x) end
  return fmt("%.17g", x)
end

-- vectors: Lua arrays of numbers or rank-1 mat arrays
local function tovec(fn, v, what, n)
  if type(v) == "userdata" or (type(v) == "table" and getmetatable(v) and v.totable) then
    local ok, t = pcall(function() return v:totable() end)
    if not ok then fail(fn, "%s: cannot read array (%s)", what, tostring(t)) end
    v = t
  end
  if type(v) ~= "table" then fail(fn, "%s: array of numbers or mat vector expected, got %s", what, type(v)) end
  local out = {}
  for i = 1, #v do
    local x = v[i]
    if type(x) == "table" and #x == 1 then x = x[1] end
    if type(x) ~= "number" then
      fail(fn, "%s[%d]: number expected, got %s", what, i, type(x))
    end
    out[i] = x
  end
  if n and #out ~= n then fail(fn, "%s: length %d expected (as x), got %d", what, n, #out) end
  return out
end

local function xy_args(fn, x, y, opts_pos)
  -- f:line(y) or f:line(x, y) or f:line(x, y, opts) or f:line(y, opts)
  if y == nil or (type(y) == "table" and getmetatable(y) == nil and #y == 0 and next(y) ~= nil) then
    local ys = tovec(fn, x, "y")
    local xs = {}
    for i = 1, #ys do xs[i] = i end
    return xs, ys, y
  end
  local xs = tovec(fn, x, "x")
  local ys = tovec(fn, y, "y", #xs)
  return xs, ys, opts_pos
end

local Figure = {}
Figure.__index = Figure

local FIG_OPTS = { "title", "xlabel", "ylabel", "log", "xlog", "ylog", "xrange", "yrange",
  "legend", "size", "font", "fontsize", "grid", "aspect", "xtics", "ytics", "raw", "linewidth" }

--- plot.figure{title=, xlabel=, ylabel=, log="x"|"y"|"xy", xrange={a,b}, yrange={a,b},
--- legend="top right"|false, size={w,h} (cm), font=, fontsize=, grid=true, aspect="equal",
--- xtics=, ytics=, raw={gnuplot commands}, linewidth=}
function M.figure(opts)
  local fn = "plot.figure"
  opts = check_options(fn, opts, FIG_OPTS, 1)
  local f = setmetatable({ opts = {}, series = {}, decorations = {}, ncolor = 0, nmarker = 0 }, Figure)
  for k, v in pairs(opts) do f.opts[k] = v end
  local log = opts.log or ""
  if type(log) ~= "string" or not log:match("^[xy]*$") then
    fail(fn, "option 'log': \"x\", \"y\" or \"xy\" expected, got %s", tostring(log))
  end
  f.xlog = opts.xlog or log:find("x") ~= nil
  f.ylog = opts.ylog or log:find("y") ~= nil
  for _, r in ipairs({ "xrange", "yrange" }) do
    local v = opts[r]
    if v ~= nil and (type(v) ~= "table" or #v ~= 2 or (v[1] ~= false and type(v[1]) ~= "number") or (v[2] ~= false and type(v[2]) ~= "number")) then
      fail(fn, "option '%s': {min, max} expected (false for automatic), got %s", r, tostring(v))
    end
  end
  if opts.size ~= nil and (type(opts.size) ~= "table" or type(opts.size[1]) ~= "number" or type(opts.size[2]) ~= "number"
      or opts.size[1] <= 0 or opts.size[2] <= 0) then
    fail(fn, "option 'size': {width_cm, height_cm} expected")
  end
  if opts.legend ~= nil and opts.legend ~= false and type(opts.legend) ~= "string" then
    fail(fn, "option 'legend': position string (e.g. \"top right\", \"bottom left outside\") or false expected")
  end
  if opts.raw ~= nil and type(opts.raw) ~= "table" then fail(fn, "option 'raw': array of gnuplot commands expected") end
  if opts.aspect ~= nil and opts.aspect ~= "equal" and type(opts.aspect) ~= "number" then
    fail(fn, "option 'aspect': \"equal\" or a number expected")
  end
  return f
end

function Figure:_color(c)
  if c then
    if type(c) ~= "string" then error("plot: option 'color': string (\"#RRGGBB\" or a gnuplot colour name) expected, got " .. type(c), 0) end
    return c
  end
  self.ncolor = self.ncolor + 1
  return M.palette[(self.ncolor - 1) % #M.palette + 1]
end

local function marker_code(fn, m)
  if type(m) == "number" and mtype(m) == "integer" and m >= 0 then return m end
  if type(m) == "string" and M.markers[m] then return M.markers[m] end
  local names = {}
  for k in pairs(M.markers) do names[#names + 1] = k end
  table.sort(names)
  fail(fn, "unknown marker '%s' (markers: %s, or a gnuplot point type number)", tostring(m), concat(names, ", "))
end

function Figure:_marker(fn, m)
  if m == true then
    self.nmarker = self.nmarker + 1
    return M.markers[marker_cycle[(self.nmarker - 1) % #marker_cycle + 1]]
  end
  return marker_code(fn, m)
end

local function dash_code(fn, d)
  if d == nil or d == false or d == "solid" then return nil end
  local map = { dashed = 2, dotted = 3, dashdot = 4, dashdotdot = 5 }
  if map[d] then return map[d] end
  if type(d) == "number" and mtype(d) == "integer" then return d end
  fail(fn, "option 'dash': solid, dashed, dotted, dashdot, dashdotdot or a gnuplot dash type expected, got %s", tostring(d))
end

local LINE_OPTS = { "label", "color", "width", "dash", "marker", "marker_every", "marker_size" }

--- f:line([x,] y [, opts]) — a line, optionally with markers (marker=true or a name).
function Figure:line(x, y, opts)
  local fn = "plot.line"
  local xs, ys
  xs, ys, opts = xy_args(fn, x, y, opts)
  opts = check_options(fn, opts, LINE_OPTS, 3)
  local s = { kind = "line", cols = { xs, ys }, label = opts.label, color = self:_color(opts.color),
    width = opts.width, dash = dash_code(fn, opts.dash),
    marker = opts.marker and self:_marker(fn, opts.marker) or nil,
    marker_every = opts.marker_every, marker_size = opts.marker_size }
  self.series[#self.series + 1] = s
  return self
end

local BAND_OPTS = { "label", "color", "alpha" }

--- f:band(x, lo, hi [, opts]) — a shaded region between lo and hi.
function Figure:band(x, lo, hi, opts)
  local fn = "plot.band"
  opts = check_options(fn, opts, BAND_OPTS, 4)
  local xs = tovec(fn, x, "x")
  local l = tovec(fn, lo, "lo", #xs)
  local h = tovec(fn, hi, "hi", #xs)
  local alpha = opts.alpha or 0.25
  if type(alpha) ~= "number" or alpha < 0 or alpha > 1 then fail(fn, "option 'alpha': number in [0, 1] expected") end
  self.series[#self.series + 1] = { kind = "band", cols = { xs, l, h }, label = opts.label,
    color = self:_color(opts.color), alpha = alpha }
  return self
end

--- f:mean_std(x, mean, std [, opts]) — line at the mean with a shaded band mean ± k·std
--- (k = opts.k, default 1). On a log y axis the band is clipped to positive values.
function Figure:mean_std(x, mean, std, opts)
  local fn = "plot.mean_std"
  opts = check_options(fn, opts, { "label", "color", "alpha", "k", "width", "dash", "marker",
    "marker_every", "marker_size" }, 4)
  local xs = tovec(fn, x, "x")
  local m = tovec(fn, mean, "mean", #xs)
  local s = tovec(fn, std, "std", #xs)
  local k = opts.k or 1
  local lo, hi = {}, {}
  for i = 1, #xs do
    lo[i] = m[i] - k * s[i]
    hi[i] = m[i] + k * s[i]
    if self.ylog and lo[i] <= 0 then lo[i] = m[i] > 0 and m[i] * 1e-3 or lo[i] end
  end
  local color = self:_color(opts.color)
  self.series[#self.series + 1] = { kind = "band", cols = { xs, lo, hi }, color = color,
    alpha = opts.alpha or 0.25 }
  self.series[#self.series + 1] = { kind = "line", cols = { xs, m }, label = opts.label, color = color,
    width = opts.width, dash = dash_code(fn, opts.dash),
    marker = opts.marker and self:_marker(fn, opts.marker) or nil,
    marker_every = opts.marker_every, marker_size = opts.marker_size }
  return self
end

--- f:scatter(x, y [, opts]) — points; opts.marker is a name/number or an array with one
--- marker per point; opts.color a colour or an array of colours ("#RRGGBB") per point.
function Figure:scatter(x, y, opts)
  local fn = "plot.scatter"
  opts = check_options(fn, opts, { "label", "color", "marker", "size" }, 3)
  local xs = tovec(fn, x, "x")
  local ys = tovec(fn, y, "y", #xs)
  local s = { kind = "scatter", cols = { xs, ys }, label = opts.label, size = opts.size }
  if type(opts.marker) == "table" then
    if #opts.marker ~= #xs then fail(fn, "option 'marker': %d markers expected (one per point), got %d", #xs, #opts.marker) end
    local codes = {}
    for i, m in ipairs(opts.marker) do codes[i] = marker_code(fn, m) end
    s.cols[#s.cols + 1] = codes
    s.marker_col = #s.cols
  else
    s.marker = self:_marker(fn, opts.marker or "circle")
  end
  if type(opts.color) == "table" then
    if #opts.color ~= #xs then fail(fn, "option 'color': %d colours expected (one per point), got %d", #xs, #opts.color) end
    local codes = {}
    for i, c in ipairs(opts.color) do
      local hex = type(c) == "string" and c:match("^#(%x%x%x%x%x%x)$")
      if not hex then fail(fn, "option 'color'[%d]: \"#RRGGBB\" expected, got %s", i, tostring(c)) end
      codes[i] = math.tointeger(tonumber(hex, 16))
    end
    s.cols[#s.cols + 1] = codes
    s.color_col = #s.cols
  else
    s.color = self:_color(opts.color)
  end
  self.series[#self.series + 1] = s
  return self
end

--- f:heatmap(M [, opts]) — a matrix as coloured cells (row 1 at the top) with each value
--- printed in its cell; opts.xlabels / ylabels name the columns / rows, opts.range = {lo, hi}
--- fixes the colour scale, opts.format the printed values ("%.2f").
function Figure:heatmap(M, opts)
  local fn = "plot.heatmap"
  opts = check_options(fn, opts, { "xlabels", "ylabels", "range", "format" }, 2)
  if type(M) == "userdata" or (type(M) == "table" and getmetatable(M) and M.totable) then M = M:totable() end
  if type(M) ~= "table" or #M == 0 or type(M[1]) ~= "table" or #M[1] == 0 then
    fail(fn, "argument #1: a non-empty matrix (table of rows or rank-2 mat) expected")
  end
  local nr, nc = #M, #M[1]
  local xs, ys, vs = {}, {}, {}
  for i = 1, nr do
    if type(M[i]) ~= "table" or #M[i] ~= nc then fail(fn, "argument #1: row %d has %s entries, expected %d", i, type(M[i]) == "table" and #M[i] or "no", nc) end
    for j = 1, nc do
      local v = M[i][j]
      if type(v) ~= "number" then fail(fn, "argument #1: entry (%d, %d) is not a number", i, j) end
      xs[#xs + 1], ys[#ys + 1], vs[#vs + 1] = j, i, v
    end
  end
  for _, k in ipairs({ "xlabels", "ylabels" }) do
    local l, n = opts[k], k == "xlabels" and nc or nr
    if l ~= nil and (type(l) ~= "table" or #l ~= n) then fail(fn, "option '%s': %d strings expected", k, n) end
  end
  if opts.range ~= nil and (type(opts.range) ~= "table" or type(opts.range[1]) ~= "number" or type(opts.range[2]) ~= "number"
      or not (opts.range[1] < opts.range[2])) then
    fail(fn, "option 'range': {lo, hi} with lo < hi expected")
  end
  local format = opts.format or "%.2f"
  if type(format) ~= "string" or not format:match("^%%[%d.]*[fge]$") then fail(fn, "option 'format': a number format like \"%%.2f\" expected") end
  self.series[#self.series + 1] = { kind = "heatmap", cols = { xs, ys, vs }, nr = nr, nc = nc,
    xlabels = opts.xlabels, ylabels = opts.ylabels, range = opts.range, format = format }
  return self
end

--- f:trajectory(x, y [, opts]) — a 2-D path with an arrow every k points (opts.arrow_every,
--- default about 8 arrows) and a marker at the start.
function Figure:trajectory(x, y, opts)
  local fn = "plot.trajectory"
  opts = check_options(fn, opts, { "label", "color", "width", "arrow_every", "start_marker", "dash" }, 3)
  local xs, ys
  if y == nil or (type(y) == "table" and getmetatable(y) == nil and y[1] == nil and next(y) ~= nil) then
    -- an n x 2 array of points
    local t = x
    if type(x) == "userdata" or (type(x) == "table" and getmetatable(x) and x.totable) then t = x:totable() end
    if type(t) ~= "table" then fail(fn, "bad argument #1 (n x 2 points or x, y arrays expected, got %s)", type(t)) end
    opts = y
    opts = check_options(fn, opts, { "label", "color", "width", "arrow_every", "start_marker", "dash" }, 3)
    xs, ys = {}, {}
    for i, p in ipairs(t) do
      if type(p) ~= "table" or type(p[1]) ~= "number" or type(p[2]) ~= "number" then
        fail(fn, "point %d: {x, y} expected", i)
      end
      xs[i], ys[i] = p[1], p[2]
    end
  else
    xs = tovec(fn, x, "x")
    ys = tovec(fn, y, "y", #xs)
  end
  local n = #xs
  local k = opts.arrow_every or math.max(1, n // 8)
  if mtype(k) ~= "integer" or k < 1 then fail(fn, "option 'arrow_every': positive integer expected, got %s", tostring(k)) end
  local color = self:_color(opts.color)
  self.series[#self.series + 1] = { kind = "line", cols = { xs, ys }, label = opts.label, color = color,
    width = opts.width, dash = dash_code(fn, opts.dash) }
  local ax, ay, adx, ady = {}, {}, {}, {}
  for i = k, n - 1, k do
    ax[#ax + 1], ay[#ay + 1] = xs[i], ys[i]
    adx[#adx + 1], ady[#ady + 1] = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
  end
  if #ax > 0 then
    self.series[#self.series + 1] = { kind = "arrows", cols = { ax, ay, adx, ady }, color = color, width = opts.width }
  end
  if opts.start_marker ~= false and n > 0 then
    self.series[#self.series + 1] = { kind = "scatter", cols = { { xs[1] }, { ys[1] } }, color = color,
      marker = marker_code(fn, opts.start_marker or "circle") }
  end
  return self
end

--- f:ray(dx, dy [, opts]) — the ray from the origin (or opts.from) in direction (dx, dy),
--- drawn to the edge of the data.
function Figure:ray(dx, dy, opts)
  local fn = "plot.ray"
  opts = check_options(fn, opts, { "label", "color", "width", "dash", "from" }, 3)
  if type(dx) ~= "number" or type(dy) ~= "number" or (dx == 0 and dy == 0) then
    fail(fn, "direction (dx, dy): two numbers, not both zero, expected")
  end
  local from = opts.from or { 0, 0 }
  self.decorations[#self.decorations + 1] = { kind = "ray", dx = dx, dy = dy, from = from,
    label = opts.label, color = self:_color(opts.color), width = opts.width, dash = dash_code(fn, opts.dash or "dashed") }
  return self
end

--- f:abline(slope, intercept [, opts]) — the line y = slope * x + intercept across the data.
function Figure:abline(a, b, opts)
  local fn = "plot.abline"
  opts = check_options(fn, opts, { "label", "color", "width", "dash" }, 3)
  if type(a) ~= "number" or type(b) ~= "number" then fail(fn, "slope and intercept: numbers expected") end
  self.decorations[#self.decorations + 1] = { kind = "abline", a = a, b = b, label = opts.label,
    color = self:_color(opts.color), width = opts.width, dash = dash_code(fn, opts.dash or "dashed") }
  return self
end

--- f:hline(y [, opts]) / f:vline(x [, opts]) — horizontal / vertical reference lines.
function Figure:hline(y, opts)
  opts = check_options("plot.hline", opts, { "color", "width", "dash" }, 2)
  if type(y) ~= "number" then fail("plot.hline", "bad argument #1 (number expected, got %s)", type(y)) end
  self.decorations[#self.decorations + 1] = { kind = "hline", v = y, color = opts.color or "#555555",
    width = opts.width, dash = dash_code("plot.hline", opts.dash or "dashed") }
  return self
end
function Figure:vline(x, opts)
  opts = check_options("plot.vline", opts, { "color", "width", "dash" }, 2)
  if type(x) ~= "number" then fail("plot.vline", "bad argument #1 (number expected, got %s)", type(x)) end
  self.decorations[#self.decorations + 1] = { kind = "vline", v = x, color = opts.color or "#555555",
    width = opts.width, dash = dash_code("plot.vline", opts.dash or "dashed") }
  return self
end

--- f:text(x, y, text [, opts]) — a label at data coordinates.
function Figure:text(x, y, s, opts)
  opts = check_options("plot.text", opts, { "align", "color" }, 4)
  if type(x) ~= "number" or type(y) ~= "number" or type(s) ~= "string" then
    fail("plot.text", "x, y (numbers) and text (string) expected")
  end
  self.decorations[#self.decorations + 1] = { kind = "text", x = x, y = y, s = s, align = opts.align or "left", color = opts.color }
  return self
end

-- rendering -------------------------------------------------------------------------------------
local function data_extent(f)
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
  for _, s in ipairs(f.series) do
    local xs = s.cols[1]
    local ycols = s.kind == "band" and { s.cols[2], s.cols[3] } or { s.cols[2] }
    for i = 1, #xs do
      local x = xs[i]
      if x == x and math.abs(x) < math.huge then
        xmin, xmax = math.min(xmin, x), math.max(xmax, x)
        for _, yc in ipairs(ycols) do
          local y = yc[i]
          if s.kind == "arrows" then y = s.cols[2][i] end
          if y == y and math.abs(y) < math.huge then ymin, ymax = math.min(ymin, y), math.max(ymax, y) end
        end
      end
    end
  end
  local o = f.opts
  if o.xrange then xmin, xmax = o.xrange[1] or xmin, o.xrange[2] or xmax end
  if o.yrange then ymin, ymax = o.yrange[1] or ymin, o.yrange[2] or ymax end
  if xmin > xmax then xmin, xmax = -1, 1 end
  if ymin > ymax then ymin, ymax = -1, 1 end
  return xmin, xmax, ymin, ymax
end

local function linestyle(s, lwdefault)
  local parts = { fmt('lc rgb "%s"', s.color or "#000000"), fmt("lw %g", s.width or lwdefault) }
  if s.dash then parts[#parts + 1] = fmt("dt %d", s.dash) end
  return concat(parts, " ")
end

local function title_clause(label, latex)
  return label and ("title " .. label_text(label, latex)) or "notitle"
end

-- Emits the commands of one panel. blocks collects data blocks (arrays of rows).
local function panel_commands(f, datname, blocks, latex, out)
  local o = f.opts
  local lw = o.linewidth or M.defaults.linewidth
  local function add(s) out[#out + 1] = s end
  add("# --- panel ---")
  add("unset logscale; unset arrow; unset label; unset title; unset xlabel; unset ylabel")
  add("set autoscale; set xtics autofreq; set ytics autofreq; set size noratio")
  if o.title then add("set title " .. label_text(o.title, latex)) end
  if o.xlabel then add("set xlabel " .. label_text(o.xlabel, latex)) end
  if o.ylabel then add("set ylabel " .. label_text(o.ylabel, latex)) end
  if f.xlog then add("set logscale x 10; set format x " .. (latex and '"$10^{%L}$"' or '"10^{%L}"')) else add('set format x "%g"') end
  if f.ylog then add("set logscale y 10; set format y " .. (latex and '"$10^{%L}$"' or '"10^{%L}"')) else add('set format y "%g"') end
  local function range(r)
    return fmt("[%s:%s]", r[1] and num(r[1]) or "*", r[2] and num(r[2]) or "*")
  end
  if o.xrange then add("set xrange " .. range(o.xrange)) end
  if o.yrange then add("set yrange " .. range(o.yrange)) end
  if o.xtics then add("set xtics " .. tostring(o.xtics)) end
  if o.ytics then add("set ytics " .. tostring(o.ytics)) end
  if o.grid == false then add("unset grid") else add('set grid back lc rgb "#dddddd" lw 0.5 dt 1') end
  if o.aspect == "equal" then add("set size ratio -1") elseif type(o.aspect) == "number" then add(fmt("set size ratio %g", o.aspect)) end
  if o.legend == false then add("unset key") else
    add("set key " .. (o.legend or "top right") .. " noopaque samplen 2.5 spacing 1.1 box lc rgb \"#bbbbbb\"")
  end
  for _, r in ipairs(o.raw or {}) do add(tostring(r)) end
  -- decorations
  local xmin, xmax, ymin, ymax = data_extent(f)
  local items = {}
  local nar = 0
  for _, d in ipairs(f.decorations) do
    if d.kind == "hline" then
      nar = nar + 1
      add(fmt("set arrow %d from graph 0, first %s to graph 1, first %s nohead %s front", nar, num(d.v), num(d.v), linestyle(d, lw)))
    elseif d.kind == "vline" then
      nar = nar + 1
      add(fmt("set arrow %d from first %s, graph 0 to first %s, graph 1 nohead %s front", nar, num(d.v), num(d.v), linestyle(d, lw)))
    elseif d.kind == "text" then
      add(fmt("set label %s at first %s, first %s %s%s front", label_text(d.s, latex), num(d.x), num(d.y), d.align,
        d.color and fmt(' tc rgb "%s"', d.color) or ""))
    elseif d.kind == "ray" then
      -- from `from` along (dx, dy) until it leaves the data box (extended to contain `from`)
      local x0, y0 = d.from[1], d.from[2]
      local bx0, bx1 = math.min(xmin, x0), math.max(xmax, x0)
      local by0, by1 = math.min(ymin, y0), math.max(ymax, y0)
      local t = math.huge
      if d.dx > 0 then t = math.min(t, (bx1 - x0) / d.dx) elseif d.dx < 0 then t = math.min(t, (bx0 - x0) / d.dx) end
      if d.dy > 0 then t = math.min(t, (by1 - y0) / d.dy) elseif d.dy < 0 then t = math.min(t, (by0 - y0) / d.dy) end
      if not (t > 0 and t < math.huge) then t = 1 / math.sqrt(d.dx ^ 2 + d.dy ^ 2) end
      blocks[#blocks + 1] = { { x0, y0 }, { x0 + t * d.dx, y0 + t * d.dy } }
      items[#items + 1] = fmt('"%s" index %d using 1:2 with lines %s %s', datname, #blocks - 1, linestyle(d, lw), title_clause(d.label, latex))
    elseif d.kind == "abline" then
      local n = 200
      local rows = {}
      for i = 0, n do
        local x = f.xlog and xmin * (xmax / xmin) ^ (i / n) or xmin + (xmax - xmin) * i / n
        rows[#rows + 1] = { x, d.a * x + d.b }
      end
      blocks[#blocks + 1] = rows
      items[#items + 1] = fmt('"%s" index %d using 1:2 with lines %s %s', datname, #blocks - 1, linestyle(d, lw), title_clause(d.label, latex))
    end
  end
  -- series (bands first so lines are drawn on top)
  local order = {}
  for _, s in ipairs(f.series) do if s.kind == "band" then order[#order + 1] = s end end
  for _, s in ipairs(f.series) do if s.kind ~= "band" then order[#order + 1] = s end end
  local series_items = {}
  for _, s in ipairs(order) do
    local rows = {}
    for i = 1, #s.cols[1] do
      local r = {}
      for c = 1, #s.cols do r[c] = s.cols[c][i] end
      rows[i] = r
    end
    blocks[#blocks + 1] = rows
    local src = fmt('"%s" index %d', datname, #blocks - 1)
    local it
    if s.kind == "band" then
      it = fmt('%s using 1:2:3 with filledcurves fc rgb "%s" fs transparent solid %g noborder %s', src, s.color, s.alpha, title_clause(s.label, latex))
    elseif s.kind == "line" then
      if s.marker then
        it = fmt("%s using 1:2 with linespoints %s pt %d ps %g pi %d %s", src, linestyle(s, lw), s.marker,
          s.marker_size or 0.6, s.marker_every or math.max(1, #s.cols[1] // 12), title_clause(s.label, latex))
      else
        it = fmt("%s using 1:2 with lines %s %s", src, linestyle(s, lw), title_clause(s.label, latex))
      end
    elseif s.kind == "scatter" then
      local using = "1:2"
      local pt = s.marker and fmt("pt %d", s.marker) or "pt variable"
      if s.marker_col then using = using .. ":" .. s.marker_col end
      local lc = s.color and fmt('lc rgb "%s"', s.color) or "lc rgb variable"
      if s.color_col then using = using .. ":" .. s.color_col end
      if (s.marker_col or s.color_col) and s.label then
        -- per-point markers/colours have no single legend sample: a proxy entry carries the label
        it = fmt("%s using %s with points %s %s ps %g notitle, \\\n     NaN with points pt %d lc rgb \"%s\" ps %g %s",
          src, using, pt, lc, s.size or 1.0, s.marker or 7, s.color or "#333333", s.size or 1.0, title_clause(s.label, latex))
      else
        it = fmt("%s using %s with points %s %s ps %g %s", src, using, pt, lc, s.size or 1.0, title_clause(s.label, latex))
      end
    elseif s.kind == "arrows" then
      it = fmt('%s using 1:2:3:4 with vectors head filled size screen 0.012,25 %s notitle', src, linestyle(s, lw))
    elseif s.kind == "heatmap" then
      local function tics(axis, labels, n)
        local t = {}
        for i = 1, n do t[i] = fmt("%s %d", labels and label_text(tostring(labels[i]), latex) or fmt('"%d"', i), i) end
        add(fmt("set %stics (%s) scale 0", axis, concat(t, ", ")))
      end
      tics("x", s.xlabels, s.nc)
      tics("y", s.ylabels, s.nr)
      add(fmt("set xrange [0.5:%g]; set yrange [%g:0.5]; unset grid", s.nc + 0.5, s.nr + 0.5))
      add('set palette defined (0 "#fff5eb", 0.5 "#fdae6b", 1 "#d94801"); unset colorbox')
      if s.range then add(fmt("set cbrange [%s:%s]", num(s.range[1]), num(s.range[2]))) else add("set autoscale cbfix") end
      it = fmt('%s using 1:2:3 with image notitle, \\\n     %s using 1:2:(sprintf("%s", $3)) with labels tc rgb "#000000" font ",9" notitle',
        src, src, s.format)
    end
    series_items[#series_items + 1] = it
  end
  for _, it in ipairs(items) do series_items[#series_items + 1] = it end
  if #series_items == 0 then
    add("set xrange [0:1]; set yrange [0:1]")
    add("plot NaN notitle")
  else
    add("plot " .. concat(series_items, ", \\\n     "))
  end
end

local TERMINALS = {
  png = function(w, h, font, fs) -- cm -> pixels at defaults.dpi
    local dpi = M.defaults.dpi
    return fmt('set terminal pngcairo enhanced color size %d,%d font "%s,%g" fontscale %g linewidth %g',
      math.floor(w / 2.54 * dpi + 0.5), math.floor(h / 2.54 * dpi + 0.5), font, fs, dpi / 96 * 0.75, dpi / 96 * 0.75)
  end,
  pdf = function(w, h, font, fs)
    return fmt('set terminal pdfcairo enhanced color size %gcm,%gcm font "%s,%g"', w, h, font, fs)
  end,
  svg = function(w, h, font, fs)
    return fmt('set terminal svg enhanced size %d,%d dynamic font "%s,%g" background "white"',
      math.floor(w / 2.54 * 96 + 0.5), math.floor(h / 2.54 * 96 + 0.5), font, fs)
  end,
  tex = function(w, h, font, fs)
    return fmt("set terminal cairolatex pdf color size %gcm,%gcm", w, h)
  end,
}

local function find_gnuplot()
  local env = os.getenv("HARDMAX_GNUPLOT")
  if env and env ~= "" then
    local st = sys.stat(env)
    return st and st.type == "file" and env or nil
  end
  for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local p = dir .. "/gnuplot"
    local st = sys.stat(p)
    if st and st.type == "file" then return p end
  end
  return nil
end

local function read_all(path)
  local fh = io.open(path, "rb")
  if not fh then return "" end
  local s = fh:read("a")
  fh:close()
  return s
end

local function render(fn, path, figs, layout, opts)
  if type(path) ~= "string" or path == "" then fail(fn, "bad argument #1 (output path expected, got %s)", tostring(path)) end
  local dir, base, ext = path:match("^(.-)([^/]*)%.(%w+)$")
  if not base or base == "" then fail(fn, "output path '%s' needs a name with an extension (.png, .pdf, .svg, .tex)", path) end
  ext = ext:lower()
  if not TERMINALS[ext] then fail(fn, "unsupported output type '.%s' (use .png, .pdf, .svg, or .tex for cairolatex)", ext) end
  if dir == "" then dir = "./" end
  local ok, err = pcall(sys.mkdir_p, dir)
  if not ok then fail(fn, "cannot create directory '%s': %s", dir, (tostring(err):gsub("^sys%.mkdir_p: ", ""))) end
  local latex = ext == "tex"
  local first = figs[1].opts
  local size = opts.size or (layout and { M.defaults.width * layout[2], M.defaults.height * layout[1] }) or first.size or { M.defaults.width, M.defaults.height }
  local font = first.font or M.defaults.font
  local fs = first.fontsize or M.defaults.fontsize
  -- further formats of the same figure (e.g. a PDF next to the PNG), from the same .gp
  local exts = { ext }
  for i, e in ipairs(opts.also or {}) do
    e = type(e) == "string" and e:lower() or e
    if not TERMINALS[e] or e == "tex" or latex then
      fail(fn, "option 'also': entry %d must be \"png\", \"pdf\" or \"svg\" (and the main output not .tex), got %s", i, tostring(e))
    end
    if e ~= ext then exts[#exts + 1] = e end
  end
  local gpname, datname = base .. ".gp", base .. ".dat"
  local outname = base .. "." .. ext
  local body = {
    latex and "set termoption noenhanced" or "set encoding utf8",
    "set border lw 0.8; set tics nomirror out scale 0.6; set mxtics default",
    "set style fill transparent solid 0.25 noborder",
  }
  if layout then
    body[#body + 1] = fmt("set multiplot layout %d,%d%s", layout[1], layout[2],
      opts.title and (" title " .. label_text(opts.title, latex)) or "")
  end
  local blocks = {}
  for _, f in ipairs(figs) do panel_commands(f, datname, blocks, latex, body) end
  if layout then body[#body + 1] = "unset multiplot" end
  local out = { "# generated by hardmax.plot; re-render with:  gnuplot " .. gpname .. "  (run in this directory)" }
  for k, e in ipairs(exts) do
    if k > 1 then out[#out + 1] = "reset" end
    out[#out + 1] = TERMINALS[e](size[1], size[2], font, fs)
    out[#out + 1] = fmt('set output "%s"', base .. "." .. e)
    for _, line in ipairs(body) do out[#out + 1] = line end
    out[#out + 1] = "set output"
  end
  -- data: blocks separated by two blank lines (gnuplot's `index`)
  local data = { "# data of " .. gpname .. "; blocks are addressed with `index k` (0-based)" }
  for k, rows in ipairs(blocks) do
    if k > 1 then data[#data + 1] = "\n" end
    data[#data + 1] = "# block " .. (k - 1)
    for _, r in ipairs(rows) do
      local cells = {}
      for c = 1, #r do cells[c] = num(r[c]) end
      data[#data + 1] = concat(cells, " ")
    end
  end
  local gppath, datpath = dir .. gpname, dir .. datname
  sys.write_atomic(datpath, concat(data, "\n") .. "\n")
  sys.write_atomic(gppath, concat(out, "\n") .. "\n")
  local gp = find_gnuplot()
  if not gp then
    fail(fn, "gnuplot not found (install the Debian package gnuplot-nox: apt-get install gnuplot-nox); wrote %s and %s, render later with: cd %s && gnuplot %s",
      gppath, datpath, dir, gpname)
  end
  local errpath = dir .. "." .. base .. ".gnuplot-stderr"
  for _, e in ipairs(exts) do os.remove(dir .. base .. "." .. e) end
  local pid = sys.spawn({ "/bin/sh", "-c", 'cd "$1" && exec "$2" "$3"', "sh", dir, gp, gpname },
    { stdout = "/dev/null", stderr = errpath, stdin = "/dev/null" })
  local how, code = sys.wait(pid)
  local stderr = read_all(errpath)
  os.remove(errpath)
  if how ~= "exited" or code ~= 0 then
    fail(fn, "gnuplot failed on %s (%s %d):\n%s", gppath, how == "exited" and "exit code" or "signal", code, stderr)
  end
  for _, e in ipairs(exts) do
    local st = sys.stat(dir .. base .. "." .. e)
    if not st or st.size == 0 then
      fail(fn, "gnuplot produced no output %s (script %s):\n%s", dir .. base .. "." .. e, gppath, stderr)
    end
  end
  if latex then
    local pst = sys.stat(dir .. base .. ".pdf")
    if not pst or pst.size == 0 then fail(fn, "cairolatex produced no %s", dir .. base .. ".pdf") end
  end
  return dir .. outname, gppath, datpath, stderr
end

local function check_also(fn, also)
  if also ~= nil and (type(also) ~= "table" or #also == 0 and next(also) ~= nil) then
    fail(fn, "option 'also': array of formats expected (e.g. {\"pdf\"}), got %s", type(also))
  end
end

--- f:save(path [, {size=, also=}]) -> image path, .gp path, .dat path. The terminal follows
--- the extension: .png (pngcairo), .pdf (pdfcairo), .svg, .tex (cairolatex: path.tex +
--- path.pdf). also = {"pdf", ...}: the same figure in those formats too (one .gp renders all).
function Figure:save(path, opts)
  opts = check_options("plot.save", opts, { "size", "also" }, 2)
  if opts.size ~= nil and (type(opts.size) ~= "table" or type(opts.size[1]) ~= "number" or type(opts.size[2]) ~= "number") then
    fail("plot.save", "option 'size': {width_cm, height_cm} expected")
  end
  check_also("plot.save", opts.also)
  local r = { render("plot.save", path, { self }, nil, { size = opts.size or self.opts.size, also = opts.also }) }
  return r[1], r[2], r[3]
end

--- plot.panels(path, {f1, f2, ...}, {cols=, rows=, title=, size=, also=}) — several figures in one
--- image (gnuplot multiplot), row by row.
function M.panels(path, figs, opts)
  local fn = "plot.panels"
  opts = check_options(fn, opts, { "cols", "rows", "title", "size", "also" }, 3)
  check_also(fn, opts.also)
  if type(figs) ~= "table" or #figs == 0 then fail(fn, "bad argument #2 (non-empty array of figures expected)") end
  for i, f in ipairs(figs) do
    if getmetatable(f) ~= Figure then fail(fn, "bad argument #2 (element %d is not a plot.figure)", i) end
  end
  local cols = opts.cols or math.min(#figs, 3)
  local rows = opts.rows or math.ceil(#figs / cols)
  if mtype(cols) ~= "integer" or mtype(rows) ~= "integer" or cols < 1 or rows < 1 or rows * cols < #figs then
    fail(fn, "layout %sx%s cannot hold %d panels", tostring(rows), tostring(cols), #figs)
  end
  local r = { render(fn, path, figs, { rows, cols }, opts) }
  return r[1], r[2], r[3]
end

M.Figure = Figure
return M

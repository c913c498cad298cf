-- hardmax.plot — figures as a gnuplot script plus data next to the image.
--
--   local f = plot.figure{title = "...", xlabel = "iteration t", ylabel = "‖W‖_F", log = "xy"}
--   f:mean_std(t, mean, std, {label = "normalized GD"})
--   f:save("out/fig1.png")   -- writes fig1.gp + fig1.dat, runs gnuplot once, checks fig1.png
--
-- `cd out && gnuplot fig1.gp` re-renders the figure without rerunning the experiment.
-- Every value reaches the .gp through hardmax.plot_text (quoted literals, numbers, keywords),
-- and gnuplot runs with a fixed argv and no shell (the runner the host passes in: issue 16).
-- See docs/plot.md.
local modname, run_gnuplot = ...
local sys = require "hardmax.sys"
local T = require "hardmax.plot_text"

local M = {}
-- captured at load so a script that replaces string.* or table.* cannot change the output
local fmt, concat, mtype, match, sort = string.format, table.concat, math.type, string.match, table.sort
local type, ipairs, pairs, tostring, next, pcall, getmetatable, setmetatable, error =
  type, ipairs, pairs, tostring, next, pcall, getmetatable, setmetatable, error
local gmatch, gsub, lower, find = string.gmatch, string.gsub, string.lower, string.find
local tonumber, tointeger = tonumber, math.tointeger
local floor, huge, mmin, mmax, abs, sqrt, ceil = math.floor, math.huge, math.min, math.max, math.abs, math.sqrt, math.ceil
local mkdir_p, write_atomic, stat = sys.mkdir_p, sys.write_atomic, sys.stat
local str, file, num, int, word, color, label_text, data_cell =
  T.str, T.file, T.num, T.int, T.word, T.color, T.label, T.data

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
  "legend", "size", "font", "fontsize", "grid", "aspect", "xtics", "ytics", "linewidth" }

local LEGEND_WORDS = {}
for _, w in ipairs({ "top", "bottom", "left", "right", "center", "inside", "outside", "above", "below",
  "over", "under", "lmargin", "rmargin", "tmargin", "bmargin", "horizontal", "vertical", "reverse",
  "noreverse", "Left", "Right" }) do LEGEND_WORDS[w] = true end

-- "top right" -> the same words, each one a gnuplot key position keyword
local function legend_spec(fn, what, v)
  if type(v) ~= "string" then fail(fn, "%s: position string (e.g. \"top right\", \"bottom left outside\") or false expected, got %s", what, type(v)) end
  local words = {}
  for w in gmatch(v, "%S+") do
    words[#words + 1] = word(fn, what, w, LEGEND_WORDS, "key position words (top, bottom, left, right, center, inside, outside, above, below, lmargin, rmargin, tmargin, bmargin, horizontal, vertical, reverse, Left, Right)")
  end
  if #words == 0 then fail(fn, "%s: position string expected, got an empty string", what) end
  return concat(words, " ")
end

-- tic specs: an increment (number), explicit positions ({0, 0.5, 1}) or "start,incr[,end]"
local function tics_spec(fn, what, v)
  if type(v) == "number" then return num(fn, what, v, 0) end
  if type(v) == "table" then
    local t = {}
    for i = 1, #v do t[i] = num(fn, fmt("%s[%d]", what, i), v[i]) end
    if #t == 0 then fail(fn, "%s: non-empty array of tic positions expected", what) end
    return "(" .. concat(t, ", ") .. ")"
  end
  if type(v) == "string" then
    local t = {}
    for part in gmatch(v .. ",", "([^,]*),") do
      local x = tonumber((gsub(part, "^%s*(.-)%s*$", "%1")))
      if not x then fail(fn, "%s: \"start,incr[,end]\" of numbers expected, got '%s'", what, (gsub(v, "[%c]", "?"))) end
      t[#t + 1] = num(fn, what, x)
    end
    if #t > 3 then fail(fn, "%s: \"start,incr[,end]\" expected (at most 3 numbers), got '%s'", what, v) end
    return concat(t, ",")
  end
  fail(fn, "%s: increment (number), array of positions or \"start,incr[,end]\" expected, got %s", what, type(v))
end

local function check_size(fn, what, v)
  if type(v) ~= "table" then fail(fn, "%s: {width_cm, height_cm} expected", what) end
  num(fn, what .. " width", v[1], 1e-3, 1e3)
  num(fn, what .. " height", v[2], 1e-3, 1e3)
end

-- The figure options with text or numbers that reach the script; run when the figure is
-- made and again when it is rendered (a script may have changed f.opts in between).
local function check_figure_opts(fn, o, prefix)
  prefix = prefix or ""
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if o[k] ~= nil then label_text(fn, prefix .. "option '" .. k .. "'", o[k]) end
  end
  if o.font ~= nil then str(fn, prefix .. "option 'font'", o.font) end
  if o.fontsize ~= nil then num(fn, prefix .. "option 'fontsize'", o.fontsize, 1, 200) end
  if o.linewidth ~= nil then num(fn, prefix .. "option 'linewidth'", o.linewidth, 0, 100) end
  if o.legend ~= nil and o.legend ~= false then legend_spec(fn, prefix .. "option 'legend'", o.legend) end
  if o.xtics ~= nil then tics_spec(fn, prefix .. "option 'xtics'", o.xtics) end
  if o.ytics ~= nil then tics_spec(fn, prefix .. "option 'ytics'", o.ytics) end
  if o.size ~= nil then check_size(fn, prefix .. "option 'size'", o.size) end
  if o.aspect ~= nil and o.aspect ~= "equal" then
    if type(o.aspect) ~= "number" then fail(fn, "%soption 'aspect': \"equal\" or a number expected", prefix) end
    num(fn, prefix .. "option 'aspect'", o.aspect, 1e-6, 1e6)
  end
  for _, r in ipairs({ "xrange", "yrange" }) do
    local v = o[r]
    if v ~= nil then
      if type(v) ~= "table" or #v ~= 2 or (v[1] ~= false and type(v[1]) ~= "number") or (v[2] ~= false and type(v[2]) ~= "number") then
        fail(fn, "%soption '%s': {min, max} expected (false for automatic), got %s", prefix, r, tostring(v))
      end
      for i = 1, 2 do if v[i] then num(fn, prefix .. "option '" .. r .. "'", v[i]) end end
    end
  end
end

--- plot.figure{title=, xlabel=, ylabel=, log="x"|"y"|"xy", xrange={a,b}, yrange={a,b},
--- legend="top right"|false, size={w,h} (cm), font=, fontsize=, grid=true, aspect="equal",
--- xtics=, ytics=, linewidth=}
function M.figure(opts)
  local fn = "plot.figure"
  if type(opts) == "table" and opts.raw ~= nil then
    fail(fn, "option 'raw' was removed: gnuplot commands from a script can run shell commands (issue 16); edit the written .gp to restyle")
  end
  opts = check_options(fn, opts, FIG_OPTS, 1)
  local f = setmetatable({ opts = {}, series = {}, decorations = {}, ncolor = 0, nmarker = 0 }, Figure)
  for k, v in pairs(opts) do f.opts[k] = v end
  local log = opts.log or ""
  if type(log) ~= "string" or not match(log, "^[xy]*$") then
    fail(fn, "option 'log': \"x\", \"y\" or \"xy\" expected, got %s", tostring(log))
  end
  f.xlog = opts.xlog or find(log, "x", 1, true) ~= nil
  f.ylog = opts.ylog or find(log, "y", 1, true) ~= nil
  check_figure_opts(fn, opts)
  return f
end

function Figure:_color(fn, c)
  if c then
    color(fn, "option 'color'", c)
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
  sort(names)
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
  if type(d) == "number" and mtype(d) == "integer" and d >= 0 then return d end
  fail(fn, "option 'dash': solid, dashed, dotted, dashdot, dashdotdot or a gnuplot dash type expected, got %s", tostring(d))
end

-- the numeric style options of lines and points, checked when given
local function check_style(fn, opts)
  if opts.label ~= nil then label_text(fn, "option 'label'", opts.label) end
  if opts.width ~= nil then num(fn, "option 'width'", opts.width, 0, 100) end
  if opts.marker_size ~= nil then num(fn, "option 'marker_size'", opts.marker_size, 0, 100) end
  if opts.size ~= nil then num(fn, "option 'size'", opts.size, 0, 100) end
  if opts.marker_every ~= nil then int(fn, "option 'marker_every'", opts.marker_every, 1) end
  if opts.alpha ~= nil then num(fn, "option 'alpha'", opts.alpha, 0, 1) end
  if opts.k ~= nil then num(fn, "option 'k'", opts.k) end
end

local LINE_OPTS = { "label", "color", "width", "dash", "marker", "marker_every", "marker_size" }

--- f:line([x,] y [, opts]) — a line, optionally with markers (marker=true or a name).
function Figure:line(x, y, opts)
  local fn = "plot.line"
  local xs, ys
  xs, ys, opts = xy_args(fn, x, y, opts)
  opts = check_options(fn, opts, LINE_OPTS, 3)
  check_style(fn, opts)
  local s = { kind = "line", src = fn, cols = { xs, ys }, label = opts.label, color = self:_color(fn, opts.color),
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
  check_style(fn, opts)
  self.series[#self.series + 1] = { kind = "band", src = fn, cols = { xs, l, h }, label = opts.label,
    color = self:_color(fn, opts.color), alpha = alpha }
  return self
end

--- f:mean_std(x, mean, std [, opts]) — line at the mean with a shaded band mean ± k·std
--- (k = opts.k, default 1). On a log y axis the band is clipped to positive values.
function Figure:mean_std(x, mean, std, opts)
  local fn = "plot.mean_std"
  opts = check_options(fn, opts, { "label", "color", "alpha", "k", "width", "dash", "marker",
    "marker_every", "marker_size" }, 4)
  check_style(fn, opts)
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
  local c = self:_color(fn, opts.color)
  self.series[#self.series + 1] = { kind = "band", src = fn, cols = { xs, lo, hi }, color = c,
    alpha = opts.alpha or 0.25 }
  self.series[#self.series + 1] = { kind = "line", src = fn, cols = { xs, m }, label = opts.label, color = c,
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
  check_style(fn, opts)
  local xs = tovec(fn, x, "x")
  local ys = tovec(fn, y, "y", #xs)
  local s = { kind = "scatter", src = fn, cols = { xs, ys }, label = opts.label, size = opts.size }
  if type(opts.marker) == "table" then
    if #opts.marker ~= #xs then fail(fn, "option 'marker': %d markers expected (one per point), got %d", #xs, #opts.marker) end
    local codes = {}
    for i, mk in ipairs(opts.marker) do codes[i] = marker_code(fn, mk) end
    s.cols[#s.cols + 1] = codes
    s.marker_col = #s.cols
  else
    s.marker = self:_marker(fn, opts.marker or "circle")
  end
  if type(opts.color) == "table" then
    if #opts.color ~= #xs then fail(fn, "option 'color': %d colours expected (one per point), got %d", #xs, #opts.color) end
    local codes = {}
    for i, c in ipairs(opts.color) do
      local hex = type(c) == "string" and match(c, "^#(%x%x%x%x%x%x)$")
      if not hex then fail(fn, "option 'color'[%d]: \"#RRGGBB\" expected, got %s", i, tostring(c)) end
      codes[i] = tointeger(tonumber(hex, 16))
    end
    s.cols[#s.cols + 1] = codes
    s.color_col = #s.cols
  else
    s.color = self:_color(fn, opts.color)
  end
  self.series[#self.series + 1] = s
  return self
end

local HEAT_FORMAT = "^%%[%d.]*[fge]$"

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
  local labels = {}
  for _, k in ipairs({ "xlabels", "ylabels" }) do
    local l, n = opts[k], k == "xlabels" and nc or nr
    if l ~= nil then
      if type(l) ~= "table" or #l ~= n then fail(fn, "option '%s': %d strings expected", k, n) end
      labels[k] = {}
      for i = 1, n do
        labels[k][i] = tostring(l[i])
        label_text(fn, fmt("option '%s'[%d]", k, i), labels[k][i])
      end
    end
  end
  if opts.range ~= nil and (type(opts.range) ~= "table" or type(opts.range[1]) ~= "number" or type(opts.range[2]) ~= "number"
      or not (opts.range[1] < opts.range[2])) then
    fail(fn, "option 'range': {lo, hi} with lo < hi expected")
  end
  if opts.range then num(fn, "option 'range'", opts.range[1]); num(fn, "option 'range'", opts.range[2]) end
  local format = opts.format or "%.2f"
  if type(format) ~= "string" or not match(format, HEAT_FORMAT) then fail(fn, "option 'format': a number format like \"%%.2f\" expected") end
  self.series[#self.series + 1] = { kind = "heatmap", src = fn, cols = { xs, ys, vs }, nr = nr, nc = nc,
    xlabels = labels.xlabels, ylabels = labels.ylabels, range = opts.range and { opts.range[1], opts.range[2] }, format = format }
  return self
end

local TRAJ_OPTS = { "label", "color", "width", "arrow_every", "start_marker", "dash" }

--- f:trajectory(x, y [, opts]) — a 2-D path with an arrow every k points (opts.arrow_every,
--- default about 8 arrows) and a marker at the start.
function Figure:trajectory(x, y, opts)
  local fn = "plot.trajectory"
  local xs, ys
  if y == nil or (type(y) == "table" and getmetatable(y) == nil and y[1] == nil and next(y) ~= nil) then
    -- an n x 2 array of points
    local t = x
    if type(x) == "userdata" or (type(x) == "table" and getmetatable(x) and x.totable) then t = x:totable() end
    if type(t) ~= "table" then fail(fn, "bad argument #1 (n x 2 points or x, y arrays expected, got %s)", type(t)) end
    opts = y
    opts = check_options(fn, opts, TRAJ_OPTS, 3)
    xs, ys = {}, {}
    for i, p in ipairs(t) do
      if type(p) ~= "table" or type(p[1]) ~= "number" or type(p[2]) ~= "number" then
        fail(fn, "point %d: {x, y} expected", i)
      end
      xs[i], ys[i] = p[1], p[2]
    end
  else
    opts = check_options(fn, opts, TRAJ_OPTS, 3)
    xs = tovec(fn, x, "x")
    ys = tovec(fn, y, "y", #xs)
  end
  check_style(fn, opts)
  local n = #xs
  local k = opts.arrow_every or mmax(1, n // 8)
  if mtype(k) ~= "integer" or k < 1 then fail(fn, "option 'arrow_every': positive integer expected, got %s", tostring(k)) end
  local c = self:_color(fn, opts.color)
  self.series[#self.series + 1] = { kind = "line", src = fn, cols = { xs, ys }, label = opts.label, color = c,
    width = opts.width, dash = dash_code(fn, opts.dash) }
  local ax, ay, adx, ady = {}, {}, {}, {}
  for i = k, n - 1, k do
    ax[#ax + 1], ay[#ay + 1] = xs[i], ys[i]
    adx[#adx + 1], ady[#ady + 1] = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
  end
  if #ax > 0 then
    self.series[#self.series + 1] = { kind = "arrows", src = fn, cols = { ax, ay, adx, ady }, color = c, width = opts.width }
  end
  if opts.start_marker ~= false and n > 0 then
    self.series[#self.series + 1] = { kind = "scatter", src = fn, cols = { { xs[1] }, { ys[1] } }, color = c,
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
  num(fn, "direction dx", dx)
  num(fn, "direction dy", dy)
  check_style(fn, opts)
  local from = opts.from or { 0, 0 }
  if type(from) ~= "table" then fail(fn, "option 'from': {x0, y0} expected, got %s", type(from)) end
  num(fn, "option 'from' x0", from[1])
  num(fn, "option 'from' y0", from[2])
  self.decorations[#self.decorations + 1] = { kind = "ray", src = fn, dx = dx, dy = dy, from = { from[1], from[2] },
    label = opts.label, color = self:_color(fn, opts.color), width = opts.width, dash = dash_code(fn, opts.dash or "dashed") }
  return self
end

--- f:abline(slope, intercept [, opts]) — the line y = slope * x + intercept across the data.
function Figure:abline(a, b, opts)
  local fn = "plot.abline"
  opts = check_options(fn, opts, { "label", "color", "width", "dash" }, 3)
  if type(a) ~= "number" or type(b) ~= "number" then fail(fn, "slope and intercept: numbers expected") end
  check_style(fn, opts)
  self.decorations[#self.decorations + 1] = { kind = "abline", src = fn, a = a, b = b, label = opts.label,
    color = self:_color(fn, opts.color), width = opts.width, dash = dash_code(fn, opts.dash or "dashed") }
  return self
end

local function refline(self, fn, kind, v, opts)
  opts = check_options(fn, opts, { "color", "width", "dash" }, 2)
  if type(v) ~= "number" then fail(fn, "bad argument #1 (number expected, got %s)", type(v)) end
  num(fn, "bad argument #1", v)
  check_style(fn, opts)
  if opts.color ~= nil then color(fn, "option 'color'", opts.color) end
  self.decorations[#self.decorations + 1] = { kind = kind, src = fn, v = v, color = opts.color or "#555555",
    width = opts.width, dash = dash_code(fn, opts.dash or "dashed") }
  return self
end

--- f:hline(y [, opts]) / f:vline(x [, opts]) — horizontal / vertical reference lines.
function Figure:hline(y, opts) return refline(self, "plot.hline", "hline", y, opts) end
function Figure:vline(x, opts) return refline(self, "plot.vline", "vline", x, opts) end

local ALIGN = { left = true, center = true, right = true }

--- f:text(x, y, text [, opts]) — a label at data coordinates.
function Figure:text(x, y, s, opts)
  local fn = "plot.text"
  opts = check_options(fn, opts, { "align", "color" }, 4)
  if type(x) ~= "number" or type(y) ~= "number" or type(s) ~= "string" then
    fail(fn, "x, y (numbers) and text (string) expected")
  end
  num(fn, "x", x)
  num(fn, "y", y)
  label_text(fn, "text", s)
  if opts.align ~= nil then word(fn, "option 'align'", opts.align, ALIGN, "\"left\", \"center\" or \"right\"") end
  if opts.color ~= nil then color(fn, "option 'color'", opts.color) end
  self.decorations[#self.decorations + 1] = { kind = "text", src = fn, x = x, y = y, s = s, align = opts.align or "left", color = opts.color }
  return self
end

-- rendering -------------------------------------------------------------------------------------
-- Every piece of text below is hardmax's own constant, or comes out of str/file/num/int/word/
-- color/label_text (hardmax.plot_text); fn is plot.save or plot.panels, `what` names where the
-- value was given ("plot.line option 'label'").
local function data_extent(f)
  local xmin, xmax, ymin, ymax = huge, -huge, huge, -huge
  for _, s in ipairs(f.series) do
    local xs = s.cols[1]
    local ycols = s.kind == "band" and { s.cols[2], s.cols[3] } or { s.cols[2] }
    for i = 1, #xs do
      local x = xs[i]
      if type(x) == "number" and x == x and abs(x) < huge then
        xmin, xmax = mmin(xmin, x), mmax(xmax, x)
        for _, yc in ipairs(ycols) do
          local y = yc[i]
          if s.kind == "arrows" then y = s.cols[2][i] end
          if type(y) == "number" and y == y and abs(y) < huge then ymin, ymax = mmin(ymin, y), mmax(ymax, y) end
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

local function linestyle(fn, s, lwdefault)
  local what = (s.src or "plot") .. " option"
  local parts = { "lc rgb " .. color(fn, what .. " 'color'", s.color or "#000000"),
    "lw " .. num(fn, what .. " 'width'", s.width or lwdefault, 0, 100) }
  if s.dash then parts[#parts + 1] = "dt " .. int(fn, what .. " 'dash'", s.dash, 0) end
  return concat(parts, " ")
end

local function title_clause(fn, s, latex)
  if s.label == nil then return "notitle" end
  return "title " .. label_text(fn, (s.src or "plot") .. " option 'label'", s.label, latex)
end

local function source(fn, datname, k)
  return file(fn, "data file name", datname) .. " index " .. int(fn, "data block", k, 0)
end

-- Emits the commands of one panel. blocks collects data blocks (arrays of rows).
local function panel_commands(fn, f, datname, blocks, latex, out)
  if getmetatable(f) ~= Figure then fail(fn, "a figure is not a plot.figure") end
  local o = f.opts
  check_figure_opts(fn, o, "plot.figure ")
  local lw = o.linewidth or M.defaults.linewidth
  local function add(s) out[#out + 1] = s end
  add("# --- panel ---")
  add("unset logscale; unset arrow; unset label; unset title; unset xlabel; unset ylabel")
  add("set autoscale; set xtics autofreq; set ytics autofreq; set size noratio")
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if o[k] then add("set " .. k .. " " .. label_text(fn, "plot.figure option '" .. k .. "'", o[k], latex)) end
  end
  local logfmt = str(fn, "format", latex and "$10^{%L}$" or "10^{%L}")
  for _, ax in ipairs({ "x", "y" }) do
    if f[ax .. "log"] then add("set logscale " .. ax .. " 10; set format " .. ax .. " " .. logfmt)
    else add("set format " .. ax .. " " .. str(fn, "format", "%g")) end
  end
  local function range(r, what)
    return "[" .. (r[1] and num(fn, what, r[1]) or "*") .. ":" .. (r[2] and num(fn, what, r[2]) or "*") .. "]"
  end
  if o.xrange then add("set xrange " .. range(o.xrange, "plot.figure option 'xrange'")) end
  if o.yrange then add("set yrange " .. range(o.yrange, "plot.figure option 'yrange'")) end
  if o.xtics then add("set xtics " .. tics_spec(fn, "plot.figure option 'xtics'", o.xtics)) end
  if o.ytics then add("set ytics " .. tics_spec(fn, "plot.figure option 'ytics'", o.ytics)) end
  if o.grid == false then add("unset grid") else add("set grid back lc rgb '#dddddd' lw 0.5 dt 1") end
  if o.aspect == "equal" then add("set size ratio -1")
  elseif o.aspect ~= nil then add("set size ratio " .. num(fn, "plot.figure option 'aspect'", o.aspect, 1e-6, 1e6)) end
  if o.legend == false then add("unset key") else
    add("set key " .. legend_spec(fn, "plot.figure option 'legend'", o.legend or "top right")
      .. " noopaque samplen 2.5 spacing 1.1 box lc rgb '#bbbbbb'")
  end
  -- decorations
  local xmin, xmax, ymin, ymax = data_extent(f)
  local items = {}
  local nar = 0
  for _, d in ipairs(f.decorations) do
    local what = (d.src or "plot") .. " "
    if d.kind == "hline" or d.kind == "vline" then
      nar = nar + 1
      local v = num(fn, what .. "position", d.v)
      local from, to = "graph 0, first " .. v, "graph 1, first " .. v
      if d.kind == "vline" then from, to = "first " .. v .. ", graph 0", "first " .. v .. ", graph 1" end
      add("set arrow " .. int(fn, "arrow", nar, 1) .. " from " .. from .. " to " .. to .. " nohead "
        .. linestyle(fn, d, lw) .. " front")
    elseif d.kind == "text" then
      add("set label " .. label_text(fn, what .. "text", d.s, latex) .. " at first " .. num(fn, what .. "x", d.x)
        .. ", first " .. num(fn, what .. "y", d.y) .. " " .. word(fn, what .. "option 'align'", d.align, ALIGN, "\"left\", \"center\" or \"right\"")
        .. (d.color and (" tc rgb " .. color(fn, what .. "option 'color'", d.color)) or "") .. " front")
    elseif d.kind == "ray" then
      -- from `from` along (dx, dy) until it leaves the data box (extended to contain `from`)
      local x0, y0 = d.from[1], d.from[2]
      local bx0, bx1 = mmin(xmin, x0), mmax(xmax, x0)
      local by0, by1 = mmin(ymin, y0), mmax(ymax, y0)
      local t = huge
      if d.dx > 0 then t = mmin(t, (bx1 - x0) / d.dx) elseif d.dx < 0 then t = mmin(t, (bx0 - x0) / d.dx) end
      if d.dy > 0 then t = mmin(t, (by1 - y0) / d.dy) elseif d.dy < 0 then t = mmin(t, (by0 - y0) / d.dy) end
      if not (t > 0 and t < huge) then t = 1 / sqrt(d.dx ^ 2 + d.dy ^ 2) end
      blocks[#blocks + 1] = { { x0, y0 }, { x0 + t * d.dx, y0 + t * d.dy } }
      items[#items + 1] = source(fn, datname, #blocks - 1) .. " using 1:2 with lines " .. linestyle(fn, d, lw) .. " " .. title_clause(fn, d, latex)
    elseif d.kind == "abline" then
      local n = 200
      local rows = {}
      for i = 0, n do
        local x = f.xlog and xmin * (xmax / xmin) ^ (i / n) or xmin + (xmax - xmin) * i / n
        rows[#rows + 1] = { x, d.a * x + d.b }
      end
      blocks[#blocks + 1] = rows
      items[#items + 1] = source(fn, datname, #blocks - 1) .. " using 1:2 with lines " .. linestyle(fn, d, lw) .. " " .. title_clause(fn, d, latex)
    else
      fail(fn, "unknown decoration kind %s", tostring(d.kind))
    end
  end
  -- series (bands first so lines are drawn on top)
  local order = {}
  for _, s in ipairs(f.series) do if s.kind == "band" then order[#order + 1] = s end end
  for _, s in ipairs(f.series) do if s.kind ~= "band" then order[#order + 1] = s end end
  local series_items = {}
  for _, s in ipairs(order) do
    local what = (s.src or "plot") .. " option "
    local rows = {}
    for i = 1, #s.cols[1] do
      local r = {}
      for c = 1, #s.cols do r[c] = s.cols[c][i] end
      rows[i] = r
    end
    blocks[#blocks + 1] = rows
    local src = source(fn, datname, #blocks - 1)
    local it
    if s.kind == "band" then
      it = src .. " using 1:2:3 with filledcurves fc rgb " .. color(fn, what .. "'color'", s.color)
        .. " fs transparent solid " .. num(fn, what .. "'alpha'", s.alpha, 0, 1) .. " noborder " .. title_clause(fn, s, latex)
    elseif s.kind == "line" then
      if s.marker then
        it = src .. " using 1:2 with linespoints " .. linestyle(fn, s, lw) .. " pt " .. int(fn, what .. "'marker'", s.marker, 0)
          .. " ps " .. num(fn, what .. "'marker_size'", s.marker_size or 0.6, 0, 100)
          .. " pi " .. int(fn, what .. "'marker_every'", s.marker_every or mmax(1, #s.cols[1] // 12), 1) .. " " .. title_clause(fn, s, latex)
      else
        it = src .. " using 1:2 with lines " .. linestyle(fn, s, lw) .. " " .. title_clause(fn, s, latex)
      end
    elseif s.kind == "scatter" then
      local using = "1:2"
      local pt = s.marker and ("pt " .. int(fn, what .. "'marker'", s.marker, 0)) or "pt variable"
      if s.marker_col then using = using .. ":" .. int(fn, "column", s.marker_col, 1) end
      local lc = s.color and ("lc rgb " .. color(fn, what .. "'color'", s.color)) or "lc rgb variable"
      if s.color_col then using = using .. ":" .. int(fn, "column", s.color_col, 1) end
      local ps = num(fn, what .. "'size'", s.size or 1.0, 0, 100)
      if (s.marker_col or s.color_col) and s.label then
        -- per-point markers/colours have no single legend sample: a proxy entry carries the label
        it = src .. " using " .. using .. " with points " .. pt .. " " .. lc .. " ps " .. ps .. " notitle, \\\n     NaN with points pt "
          .. int(fn, what .. "'marker'", s.marker or 7, 0) .. " lc rgb " .. color(fn, what .. "'color'", s.color or "#333333")
          .. " ps " .. ps .. " " .. title_clause(fn, s, latex)
      else
        it = src .. " using " .. using .. " with points " .. pt .. " " .. lc .. " ps " .. ps .. " " .. title_clause(fn, s, latex)
      end
    elseif s.kind == "arrows" then
      it = src .. " using 1:2:3:4 with vectors head filled size screen 0.012,25 " .. linestyle(fn, s, lw) .. " notitle"
    elseif s.kind == "heatmap" then
      local function tics(axis, labels, n)
        local t = {}
        for i = 1, n do
          local l = labels and label_text(fn, fmt("%s'%slabels'[%d]", what, axis, i), labels[i], latex) or str(fn, "tic label", fmt("%d", i))
          t[i] = l .. " " .. int(fn, "tic position", i, 1)
        end
        add("set " .. axis .. "tics (" .. concat(t, ", ") .. ") scale 0")
      end
      int(fn, "columns", s.nc, 1) -- the loops below run to them
      int(fn, "rows", s.nr, 1)
      tics("x", s.xlabels, s.nc)
      tics("y", s.ylabels, s.nr)
      add("set xrange [0.5:" .. num(fn, "columns", s.nc + 0.5) .. "]; set yrange [" .. num(fn, "rows", s.nr + 0.5) .. ":0.5]; unset grid")
      add("set palette defined (0 '#fff5eb', 0.5 '#fdae6b', 1 '#d94801'); unset colorbox")
      if s.range then
        add("set cbrange [" .. num(fn, what .. "'range'", s.range[1]) .. ":" .. num(fn, what .. "'range'", s.range[2]) .. "]")
      else
        add("set autoscale cbfix")
      end
      if type(s.format) ~= "string" or not match(s.format, HEAT_FORMAT) then fail(fn, "%s'format': a number format like \"%%.2f\" expected", what) end
      it = src .. " using 1:2:3 with image notitle, \\\n     " .. src .. " using 1:2:(sprintf(" .. str(fn, what .. "'format'", s.format)
        .. ", $3)) with labels tc rgb '#000000' font ',9' notitle"
    else
      fail(fn, "unknown series kind %s", tostring(s.kind))
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

local function font_spec(fn, font, fs)
  return str(fn, "option 'font'", font .. "," .. num(fn, "option 'fontsize'", fs, 1, 200))
end

local function pixels(fn, cm, dpi)
  return int(fn, "size in pixels", floor(num(fn, "option 'size'", cm, 1e-3, 1e3) / 2.54 * dpi + 0.5), 1)
end

local TERMINALS = {
  png = function(fn, w, h, font, fs) -- cm -> pixels at defaults.dpi
    local dpi = M.defaults.dpi
    num(fn, "plot.defaults.dpi", dpi, 10, 2400)
    local scale = num(fn, "font scale", dpi / 96 * 0.75)
    return "set terminal pngcairo enhanced color size " .. pixels(fn, w, dpi) .. "," .. pixels(fn, h, dpi)
      .. " font " .. font_spec(fn, font, fs) .. " fontscale " .. scale .. " linewidth " .. scale
  end,
  pdf = function(fn, w, h, font, fs)
    return "set terminal pdfcairo enhanced color size " .. num(fn, "option 'size'", w, 1e-3, 1e3) .. "cm,"
      .. num(fn, "option 'size'", h, 1e-3, 1e3) .. "cm font " .. font_spec(fn, font, fs)
  end,
  svg = function(fn, w, h, font, fs)
    return "set terminal svg enhanced size " .. pixels(fn, w, 96) .. "," .. pixels(fn, h, 96)
      .. " dynamic font " .. font_spec(fn, font, fs) .. " background '#ffffff'"
  end,
  tex = function(fn, w, h)
    return "set terminal cairolatex pdf color size " .. num(fn, "option 'size'", w, 1e-3, 1e3) .. "cm,"
      .. num(fn, "option 'size'", h, 1e-3, 1e3) .. "cm"
  end,
}

local function render(fn, path, figs, layout, opts)
  if type(path) ~= "string" or path == "" then fail(fn, "bad argument #1 (output path expected, got %s)", tostring(path)) end
  local dir, base, ext = match(path, "^(.-)([^/]*)%.(%w+)$")
  if not base or base == "" then fail(fn, "output path '%s' needs a name with an extension (.png, .pdf, .svg, .tex)", path) end
  ext = lower(ext)
  if not TERMINALS[ext] then fail(fn, "unsupported output type '.%s' (use .png, .pdf, .svg, or .tex for cairolatex)", ext) end
  file(fn, "output file name", base .. "." .. ext) -- refuses control characters before anything is written
  if dir == "" then dir = "./" end
  local latex = ext == "tex"
  local first = figs[1].opts
  local size = opts.size or (layout and { M.defaults.width * layout[2], M.defaults.height * layout[1] }) or first.size or { M.defaults.width, M.defaults.height }
  check_size(fn, "option 'size'", size)
  local font = first.font or M.defaults.font
  local fs = first.fontsize or M.defaults.fontsize
  -- further formats of the same figure (e.g. a PDF next to the PNG), from the same .gp
  local exts = { ext }
  for i, e in ipairs(opts.also or {}) do
    e = type(e) == "string" and lower(e) or e
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
    body[#body + 1] = "set multiplot layout " .. int(fn, "option 'rows'", layout[1], 1) .. "," .. int(fn, "option 'cols'", layout[2], 1)
      .. (opts.title and (" title " .. label_text(fn, "option 'title'", opts.title, latex)) or "")
  end
  local blocks = {}
  for _, f in ipairs(figs) do panel_commands(fn, f, datname, blocks, latex, body) end
  if layout then body[#body + 1] = "unset multiplot" end
  local out = { "# generated by hardmax.plot; re-render with gnuplot in this directory: gnuplot <this file>" }
  for k, e in ipairs(exts) do
    if k > 1 then out[#out + 1] = "reset" end
    out[#out + 1] = TERMINALS[e](fn, size[1], size[2], font, fs)
    out[#out + 1] = "set output " .. file(fn, "output file name", base .. "." .. e)
    for _, line in ipairs(body) do out[#out + 1] = line end
    out[#out + 1] = "set output"
  end
  -- data: blocks separated by two blank lines (gnuplot's `index`); cells are numbers only
  local data = { "# data of the .gp next to this file; blocks are addressed with `index k` (0-based)" }
  for k, rows in ipairs(blocks) do
    if k > 1 then data[#data + 1] = "\n" end
    data[#data + 1] = "# block " .. (k - 1)
    for _, r in ipairs(rows) do
      local cells = {}
      for c = 1, #r do cells[c] = data_cell(fn, r[c]) end
      data[#data + 1] = concat(cells, " ")
    end
  end
  local script = concat(out, "\n") .. "\n"
  local ok, err = pcall(mkdir_p, dir)
  if not ok and find(tostring(err), "^sandbox: ") then error(err, 0) end
  if not ok then fail(fn, "cannot create directory '%s': %s", dir, (gsub(tostring(err), "^sys%.mkdir_p: ", ""))) end
  local gppath, datpath = dir .. gpname, dir .. datname
  write_atomic(datpath, concat(data, "\n") .. "\n")
  write_atomic(gppath, script)
  if latex then exts[#exts + 1] = "pdf" end -- cairolatex writes NAME.pdf next to NAME.tex
  if not run_gnuplot then fail(fn, "hardmax.plot was loaded without its gnuplot runner (load it with require \"hardmax.plot\" after require \"hardmax\")") end
  for _, e in ipairs(exts) do os.remove(dir .. base .. "." .. e) end
  -- the script gnuplot runs is this text, not the file (nothing can change it in between)
  local how, code, stderr = run_gnuplot(dir, script, gpname)
  if how == nil then
    fail(fn, "gnuplot not found (install the Debian package gnuplot-nox: apt-get install gnuplot-nox); wrote %s and %s, render later with: cd %s && gnuplot %s",
      gppath, datpath, dir, gpname)
  end
  if how ~= "exited" or code ~= 0 then
    fail(fn, "gnuplot failed on %s (%s %d):\n%s", gppath, how == "exited" and "exit code" or "signal", code, stderr)
  end
  for _, e in ipairs(exts) do
    local st = stat(dir .. base .. "." .. e)
    if not st or st.size == 0 then
      fail(fn, "gnuplot produced no output %s (script %s):\n%s", dir .. base .. "." .. e, gppath, stderr)
    end
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
  if opts.size ~= nil then check_size("plot.save", "option 'size'", opts.size) end
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
  if opts.title ~= nil then label_text(fn, "option 'title'", opts.title) end
  if opts.size ~= nil then check_size(fn, "option 'size'", opts.size) end
  if type(figs) ~= "table" or #figs == 0 then fail(fn, "bad argument #2 (non-empty array of figures expected)") end
  for i, f in ipairs(figs) do
    if getmetatable(f) ~= Figure then fail(fn, "bad argument #2 (element %d is not a plot.figure)", i) end
  end
  local cols = opts.cols or mmin(#figs, 3)
  local rows = opts.rows or ceil(#figs / cols)
  if mtype(cols) ~= "integer" or mtype(rows) ~= "integer" or cols < 1 or rows < 1 or rows * cols < #figs then
    fail(fn, "layout %sx%s cannot hold %d panels", tostring(rows), tostring(cols), #figs)
  end
  local r = { render(fn, path, figs, { rows, cols }, opts) }
  return r[1], r[2], r[3]
end

M.Figure = Figure
M.greek = T.greek
return M

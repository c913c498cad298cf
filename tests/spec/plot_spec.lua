-- hardmax.plot: gnuplot scripts + data next to the image, rendered once; errors surfaced.
require "hardmax"

local plot = require "hardmax.plot"
local sys = require "hardmax.sys"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local tmp
before_each(function()
  tmp = os.tmpname()
  os.remove(tmp)
  sys.mkdir_p(tmp)
end)
after_each(function() os.execute("rm -rf '" .. tmp .. "'") end)

local function loglog_figure()
  local t, m, s = {}, {}, {}
  for i = 1, 40 do
    t[i] = 10 ^ (i / 10)
    m[i] = 1 / t[i] ^ 0.5
    s[i] = 0.2 * m[i]
  end
  local f = plot.figure { title = "\\alpha_t and W^{mm}", xlabel = "iteration t", ylabel = "error", log = "xy" }
  f:mean_std(t, m, s, { label = "GD (mean ± std)", marker = true })
  f:line(t, s, { label = "std", dash = "dashed" })
  return f
end

describe("plot", function()
  it("renders PNG, SVG and PDF with the .gp and data next to the image", function()
    local f = loglog_figure()
    local img, gp, dat = f:save(tmp .. "/fig.png")
    assert.are.equal(tmp .. "/fig.png", img)
    assert.are.equal(tmp .. "/fig.gp", gp)
    assert.are.equal(tmp .. "/fig.dat", dat)
    assert.are.equal("\137PNG\r\n\26\n", slurp(img):sub(1, 8))
    local text = slurp(tmp .. "/fig.gp")
    assert.truthy(text:find("set terminal pngcairo", 1, true))
    assert.truthy(text:find("set output './fig.png'", 1, true))
    assert.truthy(text:find("set logscale x 10", 1, true))
    assert.truthy(text:find("set logscale y 10", 1, true))
    assert.truthy(text:find("set title 'α_t and W^{mm}'", 1, true))
    assert.truthy(text:find("'./fig.dat' index 0 using 1:2:3 with filledcurves", 1, true))
    assert.truthy(text:find("with linespoints lc rgb '#0072B2' lw 1.5 pt 7", 1, true))
    assert.truthy(text:find("title 'GD (mean ± std)'", 1, true))
    assert.truthy(text:find("dt 2 title 'std'", 1, true))
    -- the data: band block has x, mean-std, mean+std with %.17g
    local d = slurp(tmp .. "/fig.dat")
    local x1 = 10 ^ 0.1
    local m1 = 1 / x1 ^ 0.5
    assert.truthy(d:find(string.format("%.17g %.17g %.17g\n", x1, m1 - 0.2 * m1, m1 + 0.2 * m1), 1, true))
    -- other formats (the .gp describes the last rendering)
    f:save(tmp .. "/fig.svg")
    assert.truthy(slurp(tmp .. "/fig.svg"):find("<svg", 1, true))
    assert.truthy(slurp(tmp .. "/fig.gp"):find("set terminal svg", 1, true))
    f:save(tmp .. "/fig.pdf")
    assert.are.equal("%PDF", slurp(tmp .. "/fig.pdf"):sub(1, 4))
    assert.truthy(slurp(tmp .. "/fig.gp"):find("set terminal pdfcairo", 1, true))
  end)

  it("re-renders from the .gp alone", function()
    loglog_figure():save(tmp .. "/fig.png")
    os.remove(tmp .. "/fig.png")
    assert.is_true(os.execute("cd '" .. tmp .. "' && gnuplot fig.gp"))
    assert.is_true(sys.stat(tmp .. "/fig.png").size > 1000)
  end)

  it("draws scatter with per-point markers and colours, trajectories with arrows, rays, lines", function()
    local f = plot.figure { aspect = "equal", legend = "bottom right" }
    local pts = {}
    for i = 1, 20 do pts[i] = { i / 20, (i / 20) ^ 2 } end
    f:trajectory(pts, { label = "W_t", arrow_every = 5 })
    f:scatter({ 0, 1 }, { 1, 0 }, { marker = { "circle", "triangle" }, color = { "#ff0000", "#0000ff" }, label = "tokens" })
    f:ray(1, 2, { label = "direction" })
    f:abline(1, 0)
    f:hline(0.5)
    f:vline(0.25)
    f:text(0.1, 0.9, "x_1")
    f:save(tmp .. "/t.svg")
    local text = slurp(tmp .. "/t.gp")
    assert.truthy(text:find("using 1:2:3:4 with vectors head filled", 1, true))
    assert.truthy(text:find("using 1:2:3:4 with points pt variable lc rgb variable ps 1 notitle", 1, true))
    assert.truthy(text:find("NaN with points pt 7 lc rgb '#333333' ps 1 title 'tokens'", 1, true)) -- legend proxy
    assert.truthy(text:find("set size ratio -1", 1, true))
    assert.truthy(text:find("set arrow 1 from graph 0, first 0.5 to graph 1, first 0.5 nohead", 1, true))
    assert.truthy(text:find("set arrow 2 from first 0.25, graph 0 to first 0.25, graph 1 nohead", 1, true))
    assert.truthy(text:find("set label 'x_1' at first 0.10000000000000001, first 0.90000000000000002", 1, true))
    local dat = slurp(tmp .. "/t.dat")
    -- arrows at points 5, 10, 15 pointing to the next point
    assert.truthy(dat:find(string.format("0.25 0.0625 %.17g %.17g\n", 0.3 - 0.25, 0.09 - 0.0625), 1, true))
    -- per-point markers (7 = circle, 9 = triangle) and colours as 24-bit integers
    assert.truthy(dat:find("0 1 7 16711680\n1 0 9 255\n", 1, true))
    -- the ray from the origin stops at the data's edge (y = 1 for direction (1, 2))
    assert.truthy(dat:find("0 0\n0.5 1\n", 1, true))
  end)

  it("draws a heat map: cells as an image, values printed, named rows and columns", function()
    local f = plot.figure { title = "corr", legend = false }
    f:heatmap({ { 0.9, 0.25 }, { 0.5, 1 } }, { xlabels = { "fro", "inf" }, ylabels = { "GD", "sign" }, range = { 0, 1 } })
    f:save(tmp .. "/h.png")
    local text = slurp(tmp .. "/h.gp")
    assert.truthy(text:find("set xtics ('fro' 1, 'inf' 2) scale 0", 1, true))
    assert.truthy(text:find("set ytics ('GD' 1, 'sign' 2) scale 0", 1, true))
    assert.truthy(text:find("set xrange [0.5:2.5]; set yrange [2.5:0.5]", 1, true))
    assert.truthy(text:find("set cbrange [0:1]", 1, true))
    assert.truthy(text:find('using 1:2:3 with image notitle', 1, true))
    assert.truthy(text:find("using 1:2:(sprintf('%.2f', $3)) with labels", 1, true))
    local dat = slurp(tmp .. "/h.dat")
    assert.truthy(dat:find("1 1 0.90000000000000002\n2 1 0.25\n1 2 0.5\n2 2 1\n", 1, true))
    assert.has_error(function() f:heatmap({}) end,
      "plot.heatmap: argument #1: a non-empty matrix (table of rows or rank-2 mat) expected")
    assert.has_error(function() f:heatmap({ { 1, 2 }, { 3 } }) end, "plot.heatmap: argument #1: row 2 has 1 entries, expected 2")
    assert.has_error(function() f:heatmap({ { 1, "x" } }) end, "plot.heatmap: argument #1: entry (1, 2) is not a number")
    assert.has_error(function() f:heatmap({ { 1 } }, { xlabels = { "a", "b" } }) end, "plot.heatmap: option 'xlabels': 1 strings expected")
    assert.has_error(function() f:heatmap({ { 1 } }, { range = { 1, 0 } }) end, "plot.heatmap: option 'range': {lo, hi} with lo < hi expected")
    assert.has_error(function() f:heatmap({ { 1 } }, { format = "%s" }) end)
    assert.has_error(function() f:heatmap({ { 1 } }, { colour = 1 }) end)
  end)

  it("puts several panels in one figure and accepts array objects", function()
    local arr = setmetatable({}, { __index = { totable = function() return { 1, 4, 9 } end } })
    local a = plot.figure { title = "left" }
    a:line(arr, { marker = "square" })
    local b = plot.figure { title = "right", log = "y" }
    b:line({ 1, 2, 3 }, arr)
    local img = plot.panels(tmp .. "/p.png", { a, b }, { title = "two panels" })
    assert.is_true(sys.stat(img).size > 1000)
    local text = slurp(tmp .. "/p.gp")
    assert.truthy(text:find("set multiplot layout 1,2 title 'two panels'", 1, true))
    assert.are.equal(2, select(2, text:gsub("# %-%-%- panel %-%-%-", "")))
    assert.truthy(text:find("unset multiplot", 1, true))
  end)

  it("renders further formats of the same figure from one .gp (also=)", function()
    local f = loglog_figure()
    local img = f:save(tmp .. "/multi.png", { also = { "pdf", "svg" } })
    assert.are.equal(tmp .. "/multi.png", img)
    assert.are.equal("\137PNG\r\n\26\n", slurp(tmp .. "/multi.png"):sub(1, 8))
    assert.are.equal("%PDF", slurp(tmp .. "/multi.pdf"):sub(1, 4))
    assert.truthy(slurp(tmp .. "/multi.svg"):find("<svg", 1, true))
    local gp = slurp(tmp .. "/multi.gp")
    assert.truthy(gp:find("set output './multi.png'", 1, true) and gp:find("set output './multi.pdf'", 1, true))
    -- the .gp alone re-renders every format
    for _, e in ipairs { "png", "pdf", "svg" } do os.remove(tmp .. "/multi." .. e) end
    assert.is_true(os.execute("cd '" .. tmp .. "' && gnuplot multi.gp"))
    for _, e in ipairs { "png", "pdf", "svg" } do assert.is_true(sys.stat(tmp .. "/multi." .. e).size > 1000) end
    plot.panels(tmp .. "/p.png", { f, f }, { cols = 2, also = { "pdf" } })
    assert.are.equal("%PDF", slurp(tmp .. "/p.pdf"):sub(1, 4))
    assert.has_error(function() f:save(tmp .. "/x.png", { also = { "tex" } }) end,
      'plot.save: option \'also\': entry 1 must be "png", "pdf" or "svg" (and the main output not .tex), got tex')
    assert.has_error(function() f:save(tmp .. "/x.png", { also = "pdf" }) end,
      'plot.save: option \'also\': array of formats expected (e.g. {"pdf"}), got string')
  end)

  it("draws an explicit band between two curves", function()
    local f = plot.figure {}
    f:band({ 1, 2 }, { 0.5, 1.5 }, { 1, 3 }, { label = "range", alpha = 0.4, color = "gray" })
    f:save(tmp .. "/b.svg")
    assert.truthy(slurp(tmp .. "/b.dat"):find("1 0.5 1\n2 1.5 3\n"))
    local gp = slurp(tmp .. "/b.gp")
    assert.truthy(gp:find("with filledcurves", 1, true) and gp:find("title 'range'", 1, true))
    assert.truthy(gp:find("transparent solid 0.4", 1, true), gp)
    assert.has_error(function() f:band({ 1, 2 }, { 0 }, { 1, 2 }) end)
    assert.has_error(function() f:band({ 1 }, { 0 }, { 1 }, { alpha = 2 }) end, "plot.band: option 'alpha': number in [0, 1] expected")
  end)

  it("accepts mat vectors and n x 2 mat trajectories", function()
    local mat = require "hardmax.mat"
    local f = plot.figure {}
    f:line(mat.new { 1, 2, 3 }, mat.new { 2.5, 0.5, 1 })
    f:trajectory(mat.new { { 0, 0 }, { 1, 1 }, { 2, 1.5 } }, { arrow_every = 1 })
    f:save(tmp .. "/m.svg")
    local dat = slurp(tmp .. "/m.dat")
    assert.truthy(dat:find("1 2.5\n2 0.5\n3 1\n", 1, true))
    assert.truthy(dat:find("1 1 1 0.5\n", 1, true)) -- arrow from point 2 to point 3
  end)

  it("writes cairolatex output (.tex + .pdf) with LaTeX labels passed through", function()
    local f = plot.figure { xlabel = "$\\|W\\|_F$" }
    f:line({ 1, 2 }, { 2, 1 })
    f:save(tmp .. "/c.tex")
    assert.truthy(slurp(tmp .. "/c.tex"):find("\\begin{picture}", 1, true))
    assert.are.equal("%PDF", slurp(tmp .. "/c.pdf"):sub(1, 4))
    assert.truthy(slurp(tmp .. "/c.gp"):find("set xlabel '$\\|W\\|_F$'", 1, true))
  end)

  it("turns gnuplot errors into Lua errors with gnuplot's message", function()
    -- a log axis over data that is all <= 0 is a gnuplot error, not a hardmax one
    local f = plot.figure { log = "y", yrange = { -2, -1 } }
    f:line({ 1, 2 }, { -1, -2 })
    local ok, err = pcall(f.save, f, tmp .. "/bad.png")
    assert.is_false(ok)
    assert.truthy(err:find("plot.save: gnuplot failed on " .. tmp .. "/bad.gp", 1, true), err)
    assert.truthy(err:find('"bad.gp" line', 1, true), err) -- gnuplot's message names the .gp
    assert.truthy(sys.stat(tmp .. "/bad.gp"))
  end)

  it("runs gnuplot with a fixed argv, no shell, in the figure's directory, the script on stdin", function()
    local fake = tmp .. "/fake-gnuplot"
    local fh = assert(io.open(fake, "w"))
    fh:write("#!/bin/sh\n", "printf '%s\\n' \"$0\" \"$@\" > argv.txt\n", "pwd > cwd.txt\n",
      "cat > stdin.txt\n", "echo fake > fig.png\n")
    fh:close()
    os.execute("chmod +x '" .. fake .. "'")
    sys.setenv("HARDMAX_GNUPLOT", fake)
    local f = plot.figure { title = "t" }
    f:line({ 1, 2 }, { 1, 2 })
    local ok, err = pcall(f.save, f, tmp .. "/sub/fig.png")
    sys.setenv("HARDMAX_GNUPLOT", nil)
    assert.is_true(ok, err)
    assert.are.equal(fake .. "\n-d\n/dev/stdin\n", slurp(tmp .. "/sub/argv.txt"))
    assert.are.equal(sys.realpath(tmp .. "/sub") .. "\n", slurp(tmp .. "/sub/cwd.txt"))
    assert.are.equal(slurp(tmp .. "/sub/fig.gp"), slurp(tmp .. "/sub/stdin.txt"))
  end)

  it("still writes the .gp and data when gnuplot is missing, naming the package", function()
    sys.setenv("HARDMAX_GNUPLOT", "/nonexistent/gnuplot")
    local f = plot.figure {}
    f:line({ 1, 2 }, { 1, 2 })
    local ok, err = pcall(f.save, f, tmp .. "/m.png")
    sys.setenv("HARDMAX_GNUPLOT", nil)
    assert.is_false(ok)
    assert.truthy(err:find("gnuplot not found (install the Debian package gnuplot-nox", 1, true), err)
    assert.truthy(sys.stat(tmp .. "/m.gp"))
    assert.truthy(sys.stat(tmp .. "/m.dat"))
    assert.is_nil(sys.stat(tmp .. "/m.png"))
  end)

  it("rejects unknown options and bad inputs", function()
    assert.has_error(function() plot.figure { titel = "x" } end,
      "plot.figure: unknown option 'titel' (valid options: aspect, font, fontsize, grid, legend, linewidth, log, size, title, xlabel, xlog, xrange, xtics, ylabel, ylog, yrange, ytics)")
    local f = plot.figure {}
    assert.has_error(function() f:line({ 1, 2 }, { 1, 2 }, { lable = "x" }) end,
      "plot.line: unknown option 'lable' (valid options: color, dash, label, marker, marker_every, marker_size, width)")
    assert.has_error(function() f:line({ 1, 2 }, { 1 }) end, "plot.line: y: length 2 expected (as x), got 1")
    assert.has_error(function() f:line({ 1, "a" }, { 1, 2 }) end, "plot.line: x[2]: number expected, got string")
    assert.has_error(function() f:scatter({ 1 }, { 1 }, { marker = "hexagon" }) end)
    assert.has_error(function() f:ray(0, 0) end, "plot.ray: direction (dx, dy): two numbers, not both zero, expected")
    assert.has_error(function() plot.figure { log = "z" } end, 'plot.figure: option \'log\': "x", "y" or "xy" expected, got z')
    assert.has_error(function() f:save(tmp .. "/x.jpg") end,
      "plot.save: unsupported output type '.jpg' (use .png, .pdf, .svg, or .tex for cairolatex)")
    assert.has_error(function() plot.panels(tmp .. "/x.png", { f, {} }) end,
      "plot.panels: bad argument #2 (element 2 is not a plot.figure)")
  end)
end)

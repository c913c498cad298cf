-- The umbrella module: registry, config, threads, seed.
require "hardmax"

describe("hardmax", function()
  local hardmax = require "hardmax"

  it("exposes every C module through require and as fields", function()
    for _, name in ipairs { "mat", "rng", "data", "loss", "model", "optim", "svm", "ad" } do
      local m = require("hardmax." .. name)
      assert.is_table(m)
      assert.are.equal(m, hardmax[name])
    end
  end)

  it("config reports versions and the OpenBLAS thread count", function()
    local c = hardmax.config()
    assert.is_string(c.version)
    assert.are.equal("Lua 5.4", c.lua:match("^Lua 5%.4"))
    assert.truthy(c.openblas:match("OpenBLAS"))
    assert.is_string(c.openblas_core)
    assert.is_number(c.threads)
  end)

  it("threads sets and returns the OpenBLAS thread count", function()
    assert.are.equal(2, hardmax.threads(2))
    assert.are.equal(1, hardmax.threads(1))
    assert.are.equal(1, hardmax.threads())
    assert.has_error(function() hardmax.threads(0) end,
      "hardmax.threads: bad argument #1 (thread count in [1, 1024] expected, got 0)")
    assert.has_error(function() hardmax.threads(1.5) end,
      "hardmax.threads: bad argument #1 (integer expected, got non-integral number 1.5)")
  end)

  it("printoptions is mat.printoptions", function()
    assert.are.equal(require("hardmax.mat").printoptions, hardmax.printoptions)
  end)

  it("seed defaults to 0", function()
    assert.are.equal(0, hardmax.seed())
  end)
end)

-- hardmax.exp is split into job-sized modules; exp.* re-exports them.
require "hardmax"
local exp = require "hardmax.exp"
local trial, args, summary = require "hardmax.trial", require "hardmax.args", require "hardmax.exp_summary"

describe("exp implementation modules", function()
  it("exp re-exports trial keys, argument parsing and summaries", function()
    assert.are.equal(trial.key, exp.trial_key)
    assert.are.equal(trial.less, exp.trial_less)
    assert.are.equal(args.parse, exp.args)
    for _, k in ipairs{"quantile", "summary", "curves", "print_summary", "write_json", "write_csv"} do
      assert.are.equal(summary[k], exp[k])
    end
  end)
  it("trial keys are canonical and the order is total", function()
    assert.are.equal("a=1;b=x%3Dy;run=2", trial.key({b = "x=y", a = 1.0}, 2))
    assert.are.equal("2.5", trial.keyval(2.5))
    local x = {params = {d = 4}, run = 1, key = "d=4;run=1"}
    local y = {params = {d = 10}, run = 1, key = "d=10;run=1"}
    assert.is_true(trial.less(x, y))
    assert.is_false(trial.less(y, x))
  end)
  it("parse_shard names the caller in its error", function()
    assert.are.same({2, 4}, args.parse_shard("f", "2/4"))
    assert.has_error(function() args.parse_shard("f", "5/4") end,
      "f: option 'shard': expected 'i/N' with 1 <= i <= N (e.g. '2/4'), got '5/4'")
  end)
end)

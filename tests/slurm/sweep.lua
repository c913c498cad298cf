-- The sweep driven by tests/slurm/*.sh through Slurm job arrays and GNU parallel.
local o = exp.args(arg, { runs = 4, out = "out/slurm-test", seed = 3 })
local res = exp.sweep { grid = { n = { 5, 10, 20 }, scale = { 0.5, 2.0 } }, runs = o.runs, seed = o.seed,
  out = o.out, workers = o.jobs, shard = o.shard, resume = o.resume,
  run = function(cfg, run, g)
    local s, s2 = 0, 0
    for _ = 1, cfg.n do
      local x = cfg.scale * g:normal()
      s, s2 = s + x, s2 + x * x
    end
    return { mean = s / cfg.n, second_moment = s2 / cfg.n }
  end }
print(("sweep: %d trials, %d failed"):format(#res, #res.failed))

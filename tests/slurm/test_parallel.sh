#!/usr/bin/env bash
# The GNU parallel recipe of docs/exp.md: 2 shards of tests/slurm/sweep.lua run by
# `parallel`, merged, byte-identical to an unsharded run. Exit 77 (skip) without parallel.
#   tests/slurm/test_parallel.sh path/to/hardmax
set -euo pipefail
HM="$(cd "$(dirname "${1:?usage: test_parallel.sh HARDMAX}")" && pwd)/$(basename "$1")"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
command -v parallel >/dev/null 2>&1 || { echo "SKIP: GNU parallel missing (apt-get install parallel)" >&2; exit 77; }
W="$(mktemp -d "${TMPDIR:-/tmp}/hardmax-parallel-test.XXXXXX")"
trap 'rm -rf "$W"' EXIT
cp "$SRC/tests/slurm/sweep.lua" "$W/"
cd "$W"
"$HM" sweep.lua --out ref >/dev/null
# the recipe: one job per shard (on several machines: add --sshloginfile and a shared DIR)
parallel --will-cite -j 2 --halt now,fail=1 "$HM" sweep.lua --out sharded --shard {}/2 ::: 1 2
"$HM" merge sharded
cmp ref/results.jsonl sharded/results.jsonl || { echo "FAIL: parallel-merged results differ" >&2; exit 1; }
# shards in separate directories merged together give the same bytes
parallel --will-cite -j 2 "$HM" sweep.lua --out part{} --shard {}/2 ::: 1 2
"$HM" merge part1 part2 --out joined
cmp ref/results.jsonl joined/results.jsonl || { echo "FAIL: merge of separate shard dirs differs" >&2; exit 1; }
echo "OK: GNU parallel, 2 shards, merged output byte-identical to the unsharded run"

#!/usr/bin/env bash
# The sweep in tests/slurm/sweep.lua through a real one-node Slurm cluster on localhost
# (scripts/slurm-localhost), as a job array of 2 shards via scripts/slurm-sweep; the merged
# results must be byte-identical to an unsharded run. Exit 77 (skip) without root/packages.
#   tests/slurm/test_slurm.sh path/to/hardmax
set -euo pipefail
HM="$(cd "$(dirname "${1:?usage: test_slurm.sh HARDMAX}")" && pwd)/$(basename "$1")"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the localhost Slurm cluster needs root" >&2; exit 77; fi
for p in slurmctld slurmd sbatch munged; do
  command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || {
    echo "SKIP: $p missing (apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)" >&2; exit 77; }
done
W="$(mktemp -d "${TMPDIR:-/tmp}/hardmax-slurm-test.XXXXXX")"
trap 'rm -rf "$W"' EXIT
cp "$SRC/tests/slurm/sweep.lua" "$W/"
cd "$W"
"$HM" sweep.lua --out ref >/dev/null
"$SRC/scripts/slurm-localhost" "$SRC/scripts/slurm-sweep" --shards 2 --out sharded --hardmax "$HM" -- sweep.lua
ls sharded/manifest-shard-1-of-2.json sharded/manifest-shard-2-of-2.json >/dev/null
if ! cmp ref/results.jsonl sharded/results.jsonl; then
  echo "FAIL: Slurm-merged results differ from the unsharded run" >&2
  exit 1
fi
n=$(wc -l < sharded/results.jsonl)
[ "$n" -eq 24 ] || { echo "FAIL: expected 24 trials, got $n" >&2; exit 1; }
# a requeued task (SLURM_RESTART_COUNT > 0) resumes its shard and removes what a killed run
# left (a cut write, the .work of a dead sweep); a first run of a finished shard is refused
leftover="$(ls sharded/trials | head -n 1).tmp.0123456789abcdef"
: > "sharded/trials/$leftover"
mkdir -p sharded/.work/run-0123456789abcdef && : > sharded/.work/run-0123456789abcdef/sweep1-worker1.trials
if SLURM_ARRAY_TASK_ID=1 bash sharded/slurm/job.sh >/dev/null 2>&1; then
  echo "FAIL: a finished shard was re-run without --resume" >&2; exit 1
fi
SLURM_ARRAY_TASK_ID=1 SLURM_RESTART_COUNT=1 bash sharded/slurm/job.sh >/dev/null
if [ -e "sharded/trials/$leftover" ] || [ -e sharded/.work ]; then
  echo "FAIL: the requeued task left the killed run's leftovers" >&2; exit 1
fi
grep -q "$leftover" sharded/manifest-shard-1-of-2.json || { echo "FAIL: manifest does not list what was cleaned" >&2; exit 1; }
"$HM" merge sharded 2>/dev/null
cmp ref/results.jsonl sharded/results.jsonl || { echo "FAIL: results changed by the requeued task" >&2; exit 1; }
echo "OK: 2-task Slurm job array, merged $n trials byte-identical to the unsharded run"

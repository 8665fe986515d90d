#!/usr/bin/env bash
# Stage 28: grow a model from fresh weights (configs/stage28-a.toml, then stage28-b.toml).
# Run again after a kill or a new session: each `inkreader train` resumes its run from
# runs/stage28-X/last.pt, and one that has finished returns at once.
#   setsid nohup bash scripts/stage28.sh > runs/stage28.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/inkreader train --config configs/stage28-a.toml --threads 2
# a stopped (not finished) stage 28-a has no fifth epoch: do not start 28-b without it
if [ ! -f runs/stage28-a/epochs/epoch-005.pt ]; then
    echo "stage 28-a has not finished (runs/stage28-a/epochs/epoch-005.pt is missing)" >&2
    exit 1
fi
.venv/bin/inkreader train --config configs/stage28-b.toml --threads 2

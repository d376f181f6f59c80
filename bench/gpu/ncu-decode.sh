#!/usr/bin/env bash
# On the GPU machine: ncu on decode launches of the kernels whose names match
# REGEX in a whole-model CUDA artifact (graphs off, so each launch is its own
# kernel), with warp-stall samples per instruction, then the instructions
# that hold most of them (stall_ledger.py). The report and its SASS page go
# to $OUT (default: the current directory).
#   bash ncu-decode.sh ARTIFACT REGEX [launches, default 4] [skip, default 60]
# e.g. bash bench/gpu/ncu-decode.sh carry/2b4t/2b4t.bnx 'glu_m1' 6
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
art=$1 regex=$2 count=${3:-4} skip=${4:-60}
out="${OUT:-$PWD}"
run="${RUN_MIN:-$(dirname "$art")/bitnet-run-min}"
name=$(echo "$regex" | tr -c 'A-Za-z0-9_\n' '_')
prompt=$(seq -s, 1000 1031)
BITNET_CUDA_GRAPHS=0 timeout "${NCU_TIMEOUT:-200}" ncu --clock-control none \
  -k "regex:$regex" --launch-skip "$skip" --launch-count "$count" \
  --section SourceCounters --section WarpStateStats --section SpeedOfLight \
  --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis \
  -f -o "$out/ncu-$name" "$run" "$art" --device=cuda --prompt-ids "$prompt" \
  --max-new-tokens 8 > "$out/ncu-$name.log" 2>&1 ||
  { echo "ncu failed:"; tail -5 "$out/ncu-$name.log"; exit 1; }
ncu -i "$out/ncu-$name.ncu-rep" --page details 2>&1 |
  grep -E "^  [a-z_0-9]+|Duration|DRAM Throughput|Warp Cycles Per Issued|Registers Per|Achieved Occupancy|Grid Size|Block Size|L2 Hit|Shared Memory Config" | head -60
ncu -i "$out/ncu-$name.ncu-rep" --page source --csv --print-source sass \
  > "$out/ncu-$name-sass.csv" 2>&1
python3 "$here/stall_ledger.py" "$out/ncu-$name-sass.csv"

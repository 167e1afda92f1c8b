#!/usr/bin/env bash
# The GPU reference kit: on a machine with one NVIDIA GPU, record what it is, its measured roofline
# and a calibration sweep, in one results file the advisor's fit can take in.
#
#   bash scripts/gpu-reference.sh                  # the full kit (sized for under 8 minutes on one GPU; not yet timed on one)
#   bash scripts/gpu-reference.sh --tiny           # the same steps on the CPU at toy sizes (50 s on a 2-core CPU)
#   bash scripts/gpu-reference.sh --out-dir DIR    # default results/reference
#
# Writes DIR/<gpu>-<date>.jsonl (the run records), .probe.json (probe --json) and .roofline.json
# (probe --measure --json). Then fold the runs into the fit:
#
#   python -m segbench.maintenance calibrate --fold DIR/<gpu>-<date>.jsonl --out segbench/profiles/reference_runs.yaml
#   python -m segbench.maintenance fit --out segbench/profiles/perfmodel_fit.yaml
#
# Eager PyTorch only: `segbench run` has no compile axis yet, so compiled points stay published ones.
# Random weights (no model hub is assumed); timings do not depend on the weights' values.
set -euo pipefail

tiny=0
out_dir="results/reference"
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1 ;;
    --out-dir) out_dir="${2:?--out-dir needs a folder}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "gpu-reference.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

segbench=(segbench)
command -v segbench >/dev/null 2>&1 || segbench=(python -m segbench)

mkdir -p "$out_dir"
probe_tmp="$(mktemp "$out_dir/.probe.XXXXXX")"
trap 'rm -f "$probe_tmp"' EXIT
"${segbench[@]}" probe --json --output "$probe_tmp" >/dev/null

if [ "$tiny" = 1 ]; then
  device=cpu
  slug=cpu-tiny
else
  device=cuda
  slug="$(python - "$probe_tmp" <<'EOF'
import json, re, sys
gpus = json.load(open(sys.argv[1])).get("gpus") or []
if not gpus:
    sys.exit("gpu-reference.sh: no NVIDIA GPU found (segbench probe lists none); --tiny runs the kit on the CPU")
name = gpus[0]["name"].removeprefix("NVIDIA ").removeprefix("GeForce ")
print(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))
EOF
)"
fi
stem="$out_dir/$slug-$(date -u +%Y-%m-%d)"
results="$stem.jsonl"
if [ -e "$results" ]; then
  echo "gpu-reference.sh: $results exists; move it away or pass --out-dir (results are never overwritten)" >&2
  exit 1
fi
mv "$probe_tmp" "$stem.probe.json"
chmod 0644 "$stem.probe.json"  # mktemp made it private; it is a shared record like the rest
trap - EXIT
echo "kit: $results"

"${segbench[@]}" probe --measure --device "$device" --json > "$stem.roofline.json"

run() { "${segbench[@]}" run --device "$device" --weights random --output "$results" "$@"; }

if [ "$tiny" = 1 ]; then
  # The full kit's steps, shrunk until a 2-core CPU does them in a minute or two: it checks the kit, not a speed.
  quick=(--warmup 0 --min-iters 1 --min-time 0 --telemetry-interval 0)
  run "${quick[@]}" -m sam2.1-tiny -w image,prompt --precision fp32 --batch-sizes 1 --model-size 256 --resolution 64x64
  run "${quick[@]}" -m sam2.1-tiny -w video --precision fp32 --objects 1,3 --frames 3 --model-size 256 --resolution 64x64
  run "${quick[@]}" -m mask2former-swin-tiny -w image --precision fp32 --batch-sizes 1 --model-size 128 --resolution 64x64
  run "${quick[@]}" -m monai-unet -w volume --precision fp32 --sw-batch-size 1 --volume 32x32x16 --roi 32x32x16 --depths 16
else
  run -m sam2.1-tiny,sam2.1-large -w image,prompt --precision fp32,bf16 --batch-sizes 1,4
  run -m sam2.1-tiny,sam2.1-large -w video --precision bf16 --objects 1,3 --frames 60
  run -m mask2former-swin-tiny -w image --precision fp32,bf16 --batch-sizes 1,4
  # One CT-sized volume; the extra depths give the peak-memory-vs-depth curve max_depth_fit is checked on.
  run -m monai-unet,monai-swinunetr -w volume --precision fp32,fp16 --sw-batch-size 1,4 --volume 512x512x200 \
      --depths 128,256
fi
echo "kit done: $results"
echo "fold it in: python -m segbench.maintenance calibrate --fold $results --out segbench/profiles/reference_runs.yaml"

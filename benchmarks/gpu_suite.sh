#!/usr/bin/env bash
# One prepared GPU run (issue 15): everything that needs a GPU, in one go, in under 8 minutes on
# one H100/H200, printing each figure next to its target:
#   1. the GPU tests (pytest -m gpu: AMP bf16/fp16, channels_last, torch.compile, 1-GPU torchrun);
#   2. training images/s, TFLOP/s and MFU (bf16, channels_last, compiled) of the reference ResNet
#      and ConvNeXt Networks against torchvision's resnet18/resnet50/convnext_tiny at 112x112
#      (benchmarks/bench_training.py);
#   3. a fixed-budget reference training run (configs/lfw.toml) on an LFW competition built with
#      `facekit data build`: dev accuracy, val and test verification AUC, pairs.txt 10-fold
#      accuracy (benchmarks/bench_margin_heads.py --heads arcface --seeds 0);
#   4. `facekit grade-model --gpu` on that run's checkpoint;
#   5. the targets, gathered.
#
# Usage: bash benchmarks/gpu_suite.sh [--dry-run] [--out DIR]
#   --dry-run  every step on the CPU at tiny sizes (CI runs it so the suite never rots)
#   --out DIR  keep the competition, runs and suite.log there (default: a new temporary folder)
# Environment: PYTHON (default python), FACEKIT_LFW (default ../shared/data/lfw).
# Exit status: 0 when every step ran and passed, 1 when a step failed (the others still run),
# 2 for bad arguments or no GPU without --dry-run.
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1 ;;
        --out) out="${2:?--out needs a folder}"; shift ;;
        -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "gpu_suite.sh: unknown argument '$1' (expected --dry-run or --out DIR)" >&2; exit 2 ;;
    esac
    shift
done
python="${PYTHON:-python}"
lfw="${FACEKIT_LFW:-../shared/data/lfw}"
out="${out:-$(mktemp -d "${TMPDIR:-/tmp}/gpu-suite-XXXXXX")}"
mkdir -p "$out"
exec > >(tee "$out/suite.log") 2>&1

if [ "$dry_run" = 1 ]; then
    device=cpu
    gpu_flag=()
    throughput=(--quick --device cpu --image-size 32 --precision fp32)
    # 1 epoch of the --quick CPU recipe on the 62 identities with >= 20 images (20 of each).
    training=(--quick --epochs 1 --min-images 20 --max-images 20 --ver-identities 8 --device cpu)
else
    if ! "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        echo "gpu_suite.sh: no CUDA device here; run with --dry-run to check the suite on a CPU" >&2
        exit 2
    fi
    device=cuda
    gpu_flag=(--gpu)
    throughput=(--device cuda --precision bf16 --compile)
    training=(--device cuda)
fi

start=$SECONDS
failed=()
step() {  # step NAME COMMAND...: run it, record a failure, carry on
    local name="$1"
    shift
    echo
    echo "=== [$((SECONDS - start)) s] $name ==="
    if ! "$@"; then
        failed+=("$name")
        echo "FAILED: $name"
    fi
}

echo "gpu_suite.sh: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), device $device, output in $out"
"$python" -c 'import torch
name = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {name}")'

step "1/4 GPU tests (pytest -m gpu)" \
    "$python" -m pytest -m gpu -q -rs -p no:cacheprovider tests
step "2/4 training throughput and MFU at 112x112" \
    "$python" benchmarks/bench_training.py "${throughput[@]}"
step "3/4 fixed-budget reference training on LFW (configs/lfw.toml)" \
    "$python" benchmarks/bench_margin_heads.py --src "$lfw" --heads arcface --seeds 0 \
    --workdir "$out/lfw" "${training[@]}"
run="$out/lfw/arcface_seed0"
step "4/4 facekit grade-model${gpu_flag[*]:+ ${gpu_flag[*]}} on that checkpoint" \
    "$python" -m facekit grade-model --notebook solutions/hw2p2_source.ipynb \
    --checkpoint "$run/checkpoints/last.pt" --comp "$out/lfw/comp" --keys "$out/lfw/keys" \
    --submission "$run/submissions/classification.csv" "$run/submissions/verification.csv" \
    --out "$out/grade_model" "${gpu_flag[@]}"

elapsed=$((SECONDS - start))
echo
echo "=== targets ==="
grep -h '^TARGET' "$out/suite.log"
echo "TARGET whole suite < 480 s on one H100/H200: $elapsed s ($([ "$dry_run" = 1 ] && echo 'dry run on CPU, not comparable' || { [ "$elapsed" -lt 480 ] && echo met || echo 'NOT met'; }))"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "gpu_suite.sh: FAILED steps: ${failed[*]}"
    exit 1
fi
echo "gpu_suite.sh: every step passed"

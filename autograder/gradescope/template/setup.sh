#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. It installs a CPU-only
# PyTorch and the facekit kit into a virtual environment, pinned to the versions the bundle was
# built and tested with (constraints.txt), then makes the kit readable by root alone.
set -euo pipefail

root="${FACEKIT_AUTOGRADER_ROOT:-/autograder}"
source_dir="$root/source"
venv="$root/venv"

# The kit needs Python >= 3.11. Ubuntu 22.04 images ship 3.10; their universe has python3.11.
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
export DEBIAN_FRONTEND=noninteractive
if [ -z "$python" ]; then
    apt-get update -qq
    apt-get install -y -qq python3.11 python3.11-venv
    python=python3.11
elif ! "$python" -c 'import ensurepip' 2>/dev/null; then
    # Debian and Ubuntu ship `venv` without pip until pythonX.Y-venv is installed.
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt-get update -qq
    apt-get install -y -qq "python$version-venv"
fi

"$python" -m venv "$venv"
# CPU wheels: the CUDA build is ~5 GB and the container has no GPU.
"$venv/bin/python" -m pip install --no-cache-dir --index-url "@TORCH_INDEX@" \
    "torch==@TORCH_VERSION@" "torchvision==@TORCHVISION_VERSION@"
# Editable: the kit finds its reference notebook in its own source tree.
"$venv/bin/python" -m pip install --no-cache-dir --constraint "$source_dir/constraints.txt" \
    --editable "$source_dir/kit"

# The sandbox runs student code as a fresh unprivileged user id: the reference is root's alone,
# while that user can still reach the interpreter in $venv.
chmod -R go-rwx "$source_dir"
chmod u+x "$source_dir/run_autograder"
chmod go+x "$root"

"$venv/bin/python" -c 'import torch, torchvision, autograder.gradescope.run
print(f"torch {torch.__version__} (CUDA build: {torch.version.cuda}), torchvision {torchvision.__version__}")'

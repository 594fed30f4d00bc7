"""Sandboxed re-scoring worker: rebuild the student's Network, load their weights, predict.

STANDALONE script (standard library, torch, torchvision, safetensors): it runs in the sandbox's
working directory, which the trusted side filled with
    job.json              Network keyword arguments, class names, image size, batch size, device
    student_module.py     the student's notebook definitions (untrusted)
    facekit_inference.py  a copy of facekit/training/inference.py (the shared evaluation code)
    weights.safetensors   the checkpoint's Network weights (tensors only)
    images/test/, images/ver/, test_pairs.csv
and writes classification.csv, verification.csv and result.json, which the trusted side reads
as data. Nothing this script reports is believed without checking: scores are computed outside.
"""

import json
import sys
from pathlib import Path

WORKDIR = Path(__file__).resolve().parent
sys.path.insert(0, str(WORKDIR))


def main() -> int:
    import facekit_inference as inference
    import torch
    from safetensors.torch import load_file

    job = json.loads((WORKDIR / "job.json").read_text())
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device = "cuda" if job["device"] == "cuda" and torch.cuda.is_available() else "cpu"

    import student_module

    model = student_module.Network(len(job["class_names"]), **job["network_kwargs"])
    # strict: every tensor must match a name and shape of the student's own Network.
    model.load_state_dict(load_file(WORKDIR / "weights.safetensors"), strict=True)
    model = model.to(device)
    if job["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    inference.write_submissions(
        model,
        job["class_names"],
        test_images_dir=WORKDIR / "images" / "test",
        test_ids=job["test_ids"],
        ver_images_dir=WORKDIR / "images" / "ver",
        test_pairs_csv=WORKDIR / "test_pairs.csv",
        out_dir=WORKDIR,
        image_size=job["image_size"],
        batch_size=job["batch_size"],
        device=device,
    )
    parameters = sum(p.numel() for p in model.parameters())
    (WORKDIR / "result.json").write_text(json.dumps({"parameters": parameters, "device": device}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

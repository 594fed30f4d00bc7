"""Sandboxed re-scoring worker: rebuild the student's Network, load their weights, embed images.

STANDALONE script (standard library, torch, torchvision, safetensors): it runs in the sandbox's
working directory, which the trusted side filled with copies (never links) of
    job.json              Network keyword arguments, class count, preprocessing, batch size,
                          device, and the image file names in the order to embed them
    student_module.py     the student's notebook definitions (untrusted)
    facekit_inference.py  a copy of facekit/sandbox_side/inference.py (the shared preprocessing)
    weights.safetensors   the checkpoint's Network weights (tensors only)
    images/<name>         every test and verification image, under opaque names, shuffled
and writes one file, outputs.safetensors, holding tensors only:
    feats        float32 (N, D)  the Network's `feats`, one row per name in job["images"]
    top_logits   float32 (N, K)  the K largest logits of each row, largest first
    top_classes  int64   (N, K)  their class indices
The student's code runs in this process and can change anything here, so the trusted side
believes none of it: it checks the file's size, names, dtypes, shapes and values, and builds the
CSVs, scores and verdict itself.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

WORKDIR = Path(__file__).resolve().parent
sys.path.insert(0, str(WORKDIR))


def main() -> int:
    import facekit_inference as inference  # the copy in the sandbox's folder, put on sys.path above

    job = json.loads((WORKDIR / "job.json").read_text())
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    # Full float32 on a GPU too: TF32 convolutions would differ from the CPU by ~1e-3.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    device = "cuda" if job["device"] == "cuda" and torch.cuda.is_available() else "cpu"
    preprocessing = inference.Preprocessing.from_dict(job["preprocessing"])
    paths = [WORKDIR / "images" / name for name in job["images"]]

    import student_module  # the student's code runs from here on, under the settings above

    model = student_module.Network(job["num_classes"], **job["network_kwargs"])
    # strict: every tensor must match a name and shape of the student's own Network.
    model.load_state_dict(load_file(WORKDIR / "weights.safetensors"), strict=True)
    model = model.to(device)
    if job["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    feats, top_logits, top_classes = [], [], []
    batches = inference.embed_batches(
        model, paths, preprocessing, job["batch_size"], device, job["channels_last"]
    )
    for batch_feats, batch_logits in batches:
        top = batch_logits.topk(min(job["top_k"], batch_logits.shape[1]), dim=1)
        feats.append(batch_feats)
        top_logits.append(top.values)
        top_classes.append(top.indices)
    outputs = {
        "feats": torch.cat(feats).contiguous(),
        "top_logits": torch.cat(top_logits).contiguous(),
        "top_classes": torch.cat(top_classes).contiguous(),
    }
    save_file(outputs, WORKDIR / "outputs.safetensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

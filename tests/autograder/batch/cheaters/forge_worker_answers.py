"""Writes 'ok' answers (its inputs echoed back) for every case, and fake results.json files."""

import glob
import json
import os
import re

from safetensors.torch import load_file, save_file


def _attack():
    global f, index, name, path, tensors
    for path in glob.glob("case_*.safetensors"):
        index = int(re.findall(r"\d+", path)[0])
        tensors = load_file(path)
        save_file({"output": next(iter(tensors.values()))}, f"result_{index}.safetensors")
        with open(f"result_{index}.json", "w") as f:
            json.dump({"protocol": 1, "index": index, "status": "ok"}, f)
    for name in ("results.json", "../results.json", "/tmp/results.json"):
        try:
            with open(name, "w") as f:
                json.dump({"score": 100, "tests": []}, f)
        except OSError:
            pass
    os._exit(0)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()

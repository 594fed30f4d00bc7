"""Plants a perfect results.json and gradebook in the batch's output folder."""

import json
import os


def _attack():
    global f, target
    for target in (
        "__OUT__/write_fake_results_to_out_dir/results.json",
        "__OUT__/gradebook.csv",
        "/autograder/results/results.json",
    ):
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write(json.dumps({"score": 100}))
        except OSError:
            pass


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()

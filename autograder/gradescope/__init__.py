"""Gradescope: a self-contained autograder zip that grades one submitted notebook per run.

`facekit gradescope-bundle --out DIR` (`bundle.py`) writes `DIR/autograder.zip`: `setup.sh`
(installs a CPU-only PyTorch and the kit, pinned), `run_autograder` (runs `run.py`), a README with
the container settings, the `[gradescope]` settings (`settings.py`: who sees which result when),
the pinned versions and the kit's source tree, reference notebook included: students never see
the zip, and the sandbox hides the tree from their code.
"""

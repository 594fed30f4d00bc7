"""`python -m facekit.training ...` = `facekit train ...` (the entry point torchrun launches)."""

import argparse

from facekit.cli.train import add_train_arguments, run_train


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m facekit.training",
        description="Train the reference Network (see `facekit train --help`).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_train_arguments(parser)
    return run_train(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())

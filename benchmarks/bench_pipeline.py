"""Input-pipeline throughput alone (no model): can decoding and augmentation keep a GPU busy?

Run: `python benchmarks/bench_pipeline.py [--src ../shared/data/lfw] [--workers 0 2 4 8]
[--quick]`. Reads identity folders (`<src>/<identity>/<image>`, e.g. LFW's 250x250 JPEGs or a
competition's cls_data/train), and prints images/s of the training loader (PIL decode + random
resized crop + flip + colour jitter on uint8 tensors, batched) for each worker count, then of the
evaluation preprocessing (decode + resize). Compare with bench_training.py's images/s: the loader
must be faster than the model for the GPU never to wait.
"""

import time

import torch
from torch.utils.data import DataLoader

from facekit.training.config import DataConfig
from facekit.training.data import EvalImages, LabelledImages, labelled_images, train_loader

from bench_common import add_src, bench_parser


def images_per_second(loader: DataLoader, batches: int) -> float:
    """Images/s over `batches` batches, after one untimed batch (worker start-up)."""
    iterator = iter(loader)
    next(iterator)
    count, start = 0, time.perf_counter()
    for _ in range(batches):
        try:
            images = next(iterator)
        except StopIteration:
            break
        count += len(images[0] if isinstance(images, list | tuple) else images)
    return count / (time.perf_counter() - start)


def subset(images: LabelledImages, limit: int) -> LabelledImages:
    """At most `limit` images, spread over the whole set."""
    step = max(1, len(images.paths) // limit)
    return LabelledImages(images.paths[::step], images.labels[::step], images.class_names)


def main() -> None:
    parser = bench_parser(__doc__)
    add_src(parser, "identity-folder image directory")
    parser.add_argument("--image-size", type=int, default=112, help="output side in pixels")
    parser.add_argument("--batch-size", type=int, default=256, help="images per batch")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per setting")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[0, 2, 4, 8], help="DataLoader worker counts"
    )
    parser.add_argument("--quick", action="store_true", help="batch 32, 5 batches, workers 0 2")
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.batches, args.workers = 32, 5, [0, 2]
    torch.set_num_threads(1)  # workers are the parallelism; one thread each avoids oversubscribing

    images = subset(labelled_images(args.src), args.batch_size * (args.batches + 2))
    print(
        f"{len(images.paths)} images from {args.src}; batch {args.batch_size}, "
        f"{args.image_size}x{args.image_size}, {torch.get_num_threads()} torch thread(s)"
    )
    for workers in args.workers:
        config = DataConfig(
            image_size=args.image_size, batch_size=args.batch_size, num_workers=workers
        )
        loader = train_loader(images, config, pin_memory=torch.cuda.is_available(), seed=0)
        rate = images_per_second(loader, args.batches)
        print(f"train loader, {workers} workers: {rate:10.1f} images/s")
    for workers in args.workers:
        loader = DataLoader(
            EvalImages(images.paths, args.image_size),
            batch_size=args.batch_size,
            num_workers=workers,
        )
        rate = images_per_second(loader, args.batches)
        print(f"eval preprocessing, {workers} workers: {rate:10.1f} images/s")


if __name__ == "__main__":
    main()

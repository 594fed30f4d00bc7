"""Options of the competition builder, in a module light enough for the CLI to import."""

from dataclasses import dataclass

from data_tools.errors import require


@dataclass(frozen=True)
class BuildConfig:
    """Options of `build_competition`; see `facekit data build --help` for each."""

    seed: int = 0  # decides splits and names: keep it secret for a real competition
    cls_identities: int | None = None  # None: every eligible identity not used for verification
    ver_identities: int | None = None  # None: 20% of the eligible identities, at least 4
    min_images: int = 3  # identities with fewer usable images are left out
    max_images: int | None = None  # cap per identity (random subset); None: no cap
    dev_fraction: float = 0.1  # share of each classification identity's images in dev
    test_fraction: float = 0.1  # share of each classification identity's images in test
    ver_val_fraction: float = 0.5  # share of verification identities whose pairs are labelled
    val_pairs: int | None = None  # None: as many balanced pairs as allowed, up to 1000
    test_pairs: int | None = None  # None: as many balanced pairs as allowed, up to 1000
    public_fraction: float = 0.5  # share of hidden test keys scored on the public leaderboard
    strict: bool = False  # corrupt or non-image files are an error instead of a skip
    reencode: bool = True  # test and verification images become fresh JPEGs (no byte lookup)
    perturbation: float = 0.03  # largest crop share and brightness/contrast change when re-encoding
    jpeg_quality: int = 92  # JPEG quality of re-encoded images

    def __post_init__(self) -> None:
        require(self.seed >= 0, "--seed", "a non-negative integer", self.seed)
        require(
            self.min_images >= 3,
            "--min-images",
            "at least 3 (train, dev and test)",
            self.min_images,
        )
        if self.max_images is not None:
            require(
                self.max_images >= self.min_images,
                "--max-images",
                f"at least --min-images ({self.min_images})",
                self.max_images,
            )
        for name in ("cls_identities", "ver_identities", "val_pairs", "test_pairs"):
            value = getattr(self, name)
            require(value is None or value >= 1, _option(name), "a positive integer", value)
        require(
            self.ver_identities is None or self.ver_identities >= 4,
            "--ver-identities",
            "at least 4 (two for val pairs, two for test pairs)",
            self.ver_identities,
        )
        require(
            0 <= self.perturbation <= 0.1, "--perturbation", "between 0 and 0.1", self.perturbation
        )
        require(50 <= self.jpeg_quality <= 100, "--jpeg-quality", "50 to 100", self.jpeg_quality)
        for name in ("dev_fraction", "test_fraction", "ver_val_fraction", "public_fraction"):
            value = getattr(self, name)
            require(0 < value < 1, _option(name), "strictly between 0 and 1", value)
        require(
            self.dev_fraction + self.test_fraction < 1,
            "--dev-fraction + --test-fraction",
            "below 1",
            self.dev_fraction + self.test_fraction,
        )


def _option(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")

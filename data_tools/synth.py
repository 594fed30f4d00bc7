"""Procedural face identities: a dry-run dataset with the same layout as a real one.

Each identity is a fixed set of traits (face shape, skin, eyes, brows, nose, mouth, hair, beard,
glasses, a mole); each image redraws the nuisances (pose, yaw, scale, shift, expression,
lighting, colour cast, background clutter, occlusion, blur, noise). Faces are painted as
anti-aliased ellipses on a whole-image coordinate grid with numpy, so no per-pixel Python loops.

Every image has its own random stream seeded by (seed, identity, image), so the bytes do not
depend on generation order or the number of workers.
"""

import hashlib
import io
import json
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from data_tools.atomic import check_target, publish, staging_dir
from data_tools.errors import require

JPEG_QUALITY = 92
# Half-width of the canvas in face units (the face is about 1 unit from centre to chin).
CANVAS_HALF_WIDTH = 1.45
# Stream tags keep the identity and image random streams apart for the same numbers.
_TRAITS_STREAM, _IMAGE_STREAM = 0, 1

_HAIR_COLOURS = np.array(
    [
        [25, 20, 18],
        [70, 45, 30],
        [120, 80, 45],
        [200, 160, 95],
        [150, 60, 30],
        [160, 160, 160],
        [230, 225, 215],
    ],
    dtype=np.float32,
)
_IRIS_COLOURS = np.array(
    [[60, 35, 20], [110, 70, 35], [60, 110, 170], [70, 130, 80], [120, 130, 140]],
    dtype=np.float32,
)
_FRAME_COLOURS = np.array(
    [[15, 15, 15], [120, 70, 30], [180, 180, 190], [150, 20, 30]], dtype=np.float32
)


@dataclass(frozen=True)
class SynthSummary:
    """What `generate_identities` wrote."""

    out_dir: Path
    identities: int
    images_per_identity: int
    size: int
    seed: int
    digest: str  # sha256 over every written file's relative path and bytes, in sorted order


@dataclass(frozen=True)
class _Traits:
    """The fixed look of one identity, in face units (face centre at 0, chin near v = 1)."""

    face_w: float
    face_h: float
    chin_taper: float
    skin: np.ndarray
    hair: np.ndarray
    bald: bool
    hairline: float
    hair_volume: float
    hair_length: float
    fringe_curve: float
    eye_dx: float
    eye_y: float
    eye_a: float
    eye_ratio: float
    eye_tilt: float
    iris: np.ndarray
    brow_gap: float
    brow_len: float
    brow_thick: float
    brow_angle: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip_thick: float
    lips: np.ndarray
    beard: bool
    glasses: np.ndarray | None
    mole: tuple[float, float] | None


def _identity_traits(seed: int, identity: int) -> _Traits:
    rng = np.random.default_rng([seed, _TRAITS_STREAM, identity])
    u = rng.uniform
    tone = u(0.0, 1.0)
    skin = (1 - tone) * np.array([240, 205, 180]) + tone * np.array([95, 62, 42])
    skin = np.clip(skin + rng.normal(0, 8, 3), 0, 255).astype(np.float32)
    hair = _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] + rng.normal(0, 10, 3)
    lips = 0.55 * skin + 0.45 * np.array([190, 60, 70]) + rng.normal(0, 8, 3)
    has_glasses = u() < 0.25
    return _Traits(
        face_w=u(0.6, 0.86),
        face_h=u(0.92, 1.06),
        chin_taper=u(0.0, 0.45),
        skin=skin,
        hair=np.clip(hair, 0, 255).astype(np.float32),
        bald=u() < 0.12,
        hairline=u(-0.8, -0.4),
        hair_volume=u(1.02, 1.35),
        hair_length=u(-0.2, 0.9),
        fringe_curve=u(-0.5, 0.5),
        eye_dx=u(0.2, 0.36),
        eye_y=u(-0.22, 0.0),
        eye_a=u(0.08, 0.15),
        eye_ratio=u(0.4, 0.7),
        eye_tilt=u(-0.25, 0.25),
        iris=_IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))],
        brow_gap=u(0.09, 0.2),
        brow_len=u(0.12, 0.24),
        brow_thick=u(0.025, 0.07),
        brow_angle=u(-0.35, 0.35),
        nose_len=u(0.14, 0.34),
        nose_w=u(0.05, 0.13),
        mouth_y=u(0.4, 0.62),
        mouth_w=u(0.14, 0.3),
        lip_thick=u(0.035, 0.08),
        lips=np.clip(lips, 0, 255).astype(np.float32),
        beard=u() < 0.2,
        glasses=_FRAME_COLOURS[rng.integers(len(_FRAME_COLOURS))] if has_glasses else None,
        mole=(u(-0.45, 0.45), u(-0.2, 0.7)) if u() < 0.35 else None,
    )


class _Canvas:
    """An RGB float image with a face-unit coordinate grid, painted layer by layer."""

    def __init__(self, rgb: np.ndarray, u: np.ndarray, v: np.ndarray, px_per_unit: float):
        self.rgb, self.u, self.v, self.px = rgb, u, v, px_per_unit

    def ellipse(self, cx, cy, a, b, angle=0.0, u=None, v=None) -> np.ndarray:
        """Anti-aliased coverage (H, W) in [0, 1] of an ellipse with half-axes a, b."""
        u = self.u if u is None else u
        v = self.v if v is None else v
        du, dv = u - cx, v - cy
        if angle:
            c, s = np.cos(angle), np.sin(angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        radius = np.sqrt((du / a) ** 2 + (dv / b) ** 2)
        # (radius - 1) * min(a, b) approximates the distance to the edge in face units.
        return np.clip(0.5 - (radius - 1.0) * min(a, b) * self.px, 0.0, 1.0)

    def paint(self, alpha: np.ndarray, colour: np.ndarray, opacity: float = 1.0) -> None:
        a = (alpha * opacity)[..., None]
        self.rgb *= 1.0 - a
        self.rgb += a * colour


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random colour with a gradient (H, W, 3); clutter is painted by the caller."""
    base = rng.uniform(20, 235, 3)
    other = np.clip(base + rng.normal(0, 50, 3), 0, 255)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    ramp = ramp[None, :] if rng.uniform() < 0.5 else ramp[:, None]
    ramp = np.broadcast_to(ramp, (size, size))[..., None]
    return ((1 - ramp) * base + ramp * other).astype(np.float32)


def render_face(seed: int, identity: int, image: int, size: int) -> Image.Image:
    """One image of `identity` as a `size` x `size` RGB PIL image."""
    traits = _identity_traits(seed, identity)
    rng = np.random.default_rng([seed, _IMAGE_STREAM, identity, image])
    t = traits

    # Pose: the pixel grid mapped back into face units through rotation, scale and shift.
    angle = np.clip(rng.normal(0, 0.18), -0.45, 0.45)
    scale = rng.uniform(0.72, 1.15)
    shift = np.clip(rng.normal(0, 0.14, 2), -0.3, 0.3)
    yaw = rng.uniform(-0.3, 0.3)
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(axis * CANVAS_HALF_WIDTH, axis * CANVAS_HALF_WIDTH)
    x, y = x - shift[0], y - shift[1] + 0.05
    c, s = np.cos(angle), np.sin(angle)
    u = (c * x + s * y) / scale
    v = (-s * x + c * y) / scale
    px = size / (2 * CANVAS_HALF_WIDTH) * scale
    canvas = _Canvas(_background(rng, size), u, v, px)

    for _ in range(rng.integers(0, 4)):  # background clutter
        canvas.paint(
            canvas.ellipse(
                *rng.uniform(-1.4, 1.4, 2), *rng.uniform(0.1, 0.6, 2), rng.uniform(0, 3)
            ),
            rng.uniform(0, 255, 3),
        )

    # Expression.
    smile = rng.uniform(-0.6, 1.0)
    mouth_open = rng.uniform(0, 1) ** 2
    brow_raise = rng.uniform(-0.03, 0.06)
    eye_open = 0.1 if rng.uniform() < 0.08 else rng.uniform(0.6, 1.0)

    # Yaw: features nearer the camera slide further across the face than its outline.
    face_u = u / (1 - 0.25 * abs(yaw)) + 0.1 * yaw
    feat_u = u + 0.35 * yaw
    taper = 1 - t.chin_taper * np.clip(v, 0, 1)
    face = canvas.ellipse(0, 0, t.face_w, t.face_h, u=face_u / taper)

    if not t.bald:
        back = canvas.ellipse(
            0, -0.15, t.face_w * t.hair_volume, t.face_h * t.hair_volume, u=face_u
        )
        back *= np.clip((t.hair_length - v) * px, 0, 1)
        canvas.paint(back, t.hair)
    canvas.paint(face, t.skin)

    if t.beard:
        beard = face * np.clip((v - (t.mouth_y - 0.12)) * px, 0, 1)
        canvas.paint(beard, t.hair, 0.85)

    for side in (-1, 1):
        ex = side * t.eye_dx
        tilt = side * t.eye_tilt
        white = canvas.ellipse(
            ex, t.eye_y, t.eye_a, t.eye_a * t.eye_ratio * eye_open, tilt, u=feat_u
        )
        canvas.paint(white, np.array([240, 238, 232], np.float32))
        gaze = rng.normal(0, 0.02)
        iris = canvas.ellipse(ex + gaze, t.eye_y, t.eye_a * 0.5, t.eye_a * 0.5, u=feat_u)
        canvas.paint(iris * white, t.iris)
        pupil = canvas.ellipse(ex + gaze, t.eye_y, t.eye_a * 0.22, t.eye_a * 0.22, u=feat_u)
        canvas.paint(pupil * white, np.array([10, 10, 10], np.float32))
        brow_y = t.eye_y - t.brow_gap - brow_raise
        brow = canvas.ellipse(ex, brow_y, t.brow_len, t.brow_thick, side * t.brow_angle, u=feat_u)
        canvas.paint(brow, t.hair * 0.6)
        if t.glasses is not None:
            ring = canvas.ellipse(ex, t.eye_y, t.eye_a * 1.6, t.eye_a * 1.3, u=feat_u)
            ring -= canvas.ellipse(
                ex, t.eye_y, t.eye_a * 1.6 - 0.03, t.eye_a * 1.3 - 0.03, u=feat_u
            )
            canvas.paint(np.clip(ring, 0, 1), t.glasses)
    if t.glasses is not None:
        bridge = canvas.ellipse(0, t.eye_y - 0.03, t.eye_dx - t.eye_a * 1.5, 0.018, u=feat_u)
        canvas.paint(bridge, t.glasses)

    nose_u = u + 0.5 * yaw
    nose_top = t.eye_y + 0.05
    ridge = canvas.ellipse(
        0, nose_top + t.nose_len / 2, t.nose_w * 0.6, t.nose_len / 2 + 0.04, u=nose_u
    )
    canvas.paint(ridge, t.skin * 0.82, 0.6)
    for side in (-1, 1):
        nostril = canvas.ellipse(
            side * t.nose_w * 0.6, nose_top + t.nose_len, t.nose_w * 0.35, t.nose_w * 0.2, u=nose_u
        )
        canvas.paint(nostril, t.skin * 0.45)

    # The mouth curves with the smile: shift v by a parabola in u.
    mouth_v = v - (-smile * 0.9) * (feat_u**2) - 0.01 * smile
    lips = canvas.ellipse(
        0, t.mouth_y, t.mouth_w, t.lip_thick + 0.05 * mouth_open, u=feat_u, v=mouth_v
    )
    canvas.paint(lips, t.lips)
    if mouth_open > 0.05:
        inner = canvas.ellipse(
            0, t.mouth_y, t.mouth_w * 0.75, 0.05 * mouth_open, u=feat_u, v=mouth_v
        )
        canvas.paint(inner, np.array([60, 20, 25], np.float32))
    if t.mole is not None:
        canvas.paint(canvas.ellipse(*t.mole, 0.025, 0.025, u=feat_u), t.skin * 0.35)
    if not t.bald:
        fringe_edge = t.hairline + t.fringe_curve * (face_u**2)
        fringe = face * np.clip((fringe_edge - v) * px, 0, 1)
        canvas.paint(fringe, t.hair)

    # Occluders: a random object or a pair of sunglasses.
    if rng.uniform() < 0.2:
        cx, cy = rng.uniform(-0.7, 0.7), rng.uniform(-0.3, 0.9)
        blob = canvas.ellipse(cx, cy, *rng.uniform(0.15, 0.4, 2), rng.uniform(0, 3))
        canvas.paint(blob, rng.uniform(0, 255, 3))
    elif rng.uniform() < 0.1:
        shades = canvas.ellipse(0, t.eye_y, t.eye_dx + t.eye_a * 1.4, t.eye_a * 1.1, u=feat_u)
        canvas.paint(shades, np.array([20, 20, 25], np.float32), 0.95)

    # Lighting: a directional ramp, brightness, contrast and a colour cast.
    direction = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.0, 0.45)
    ramp = 1 + strength * (np.cos(direction) * x + np.sin(direction) * y) / CANVAS_HALF_WIDTH
    rgb = canvas.rgb * ramp[..., None]
    rgb = (rgb - 128) * rng.uniform(0.75, 1.15) + 128
    rgb *= rng.uniform(0.6, 1.3) * rng.normal(1.0, 0.12, 3)
    rgb += rng.normal(0, rng.uniform(1, 8), rgb.shape)
    picture = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    blur = rng.uniform(0, 1.2) * size / 112
    return picture.filter(ImageFilter.GaussianBlur(blur)) if blur > 0.2 else picture


def _encode_jpeg(picture: Image.Image) -> bytes:
    # Fixed quality and subsampling, no EXIF: the same pixels always give the same bytes.
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=False)
    return buffer.getvalue()


def identity_name(identity: int) -> str:
    """The folder name of synthetic identity number `identity`."""
    return f"id_{identity:05d}"


def _write_identity(root: Path, seed: int, identity: int, images: int, size: int) -> None:
    folder = root / identity_name(identity)
    folder.mkdir()
    for image in range(images):
        data = _encode_jpeg(render_face(seed, identity, image, size))
        (folder / f"{identity_name(identity)}_{image:04d}.jpg").write_bytes(data)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def generate_identities(
    out_dir: str | Path,
    identities: int,
    images_per_identity: int,
    size: int = 112,
    seed: int = 0,
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
) -> SynthSummary:
    """Write `out_dir/<id_NNNNN>/<id_NNNNN>_MMMM.jpg`: an identity-folder dataset of JPEGs.

    Also writes `out_dir/synth.json` with the arguments. Same arguments give the same bytes,
    whatever `workers` is. The directory appears only once complete.
    """
    out_dir = Path(out_dir)
    require(identities >= 1, "--identities", "at least 1", identities)
    require(images_per_identity >= 1, "--images-per-identity", "at least 1", images_per_identity)
    require(16 <= size <= 1024, "--size", "between 16 and 1024 pixels", size)
    require(workers >= 1, "--workers", "at least 1", workers)
    require(seed >= 0, "--seed", "a non-negative integer", seed)
    check_target(out_dir, overwrite)
    with staging_dir(out_dir) as staging:
        jobs = [(staging, seed, i, images_per_identity, size) for i in range(identities)]
        bar = tqdm(
            total=identities,
            desc="drawing identities",
            unit="id",
            disable=None if progress else True,
        )
        with bar, ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            mapper = map if pool is None else pool.map
            for _ in mapper(_write_identity, *zip(*jobs, strict=True)):
                bar.update()
        arguments = {
            "identities": identities,
            "images_per_identity": images_per_identity,
            "size": size,
            "seed": seed,
            "jpeg_quality": JPEG_QUALITY,
        }
        (staging / "synth.json").write_text(json.dumps(arguments, indent=2) + "\n")
        digest = _tree_digest(staging)
        publish(staging, out_dir)
    return SynthSummary(out_dir, identities, images_per_identity, size, seed, digest)

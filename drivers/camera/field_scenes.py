"""Field-like camera scenes: codes on phone screens and paper, as a kiosk camera really sees them.

A second, independent generator beside `synth.py` (different code paths and distributions, so
a decoder tuned on one is measured on the other): a code shown on a phone is drawn on an RGB
sub-pixel grid and point-sampled by the camera (screen moiré), with the phone's black not
black and specular glare spots that saturate; paper codes fade. Both are tilted in 3-D
(perspective from a pinhole model), lit unevenly (vignette, a gradient, a hand's shadow),
defocused or motion-blurred, exposed, noised (shot and read noise) and JPEG-compressed.
Everything derives from the scene's seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import segno

from drivers.camera.synth import QUIET_ZONE_MODULES, SIZES, background, token_text

Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]

SCREEN_SUBPIXELS = 3  # one screen pixel = R, G, B columns; the last row is the dark grid line
FOCAL_FRACTION = 1.1  # pinhole focal length over frame width (a ~50° webcam)
LONG_PAYLOAD_CHARS = 300
SUBPIXEL_CROSSTALK = 0.3  # light of a sub-pixel seen in the other two colour channels
_MEAN_MIX = (1 + 2 * SUBPIXEL_CROSSTALK) / 3
DEGRADATIONS = ("tilt", "defocus", "motion", "contrast", "glare", "uneven", "noise", "jpeg")


@dataclass(frozen=True)
class FieldSpec:
    """One field scene: payload, frame size, medium, and the seed everything else derives from."""

    text: str
    size: str
    medium: str  # "phone" or "paper"
    degradations: tuple[str, ...]
    seed: int


def _code_modules(text: str) -> Image:
    """The code as 0 (dark) / 255 (light) modules with its quiet zone, one pixel per module."""
    matrix = np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8)
    matrix = np.pad(matrix, QUIET_ZONE_MODULES, constant_values=0)
    return np.where(matrix > 0, 0, 255).astype(np.uint8)


def _phone_texture(modules: Image, rng: np.random.Generator) -> FloatImage:
    """The code as a phone displays it: modules of whole screen pixels on an RGB sub-pixel grid."""
    screen_px_per_module = int(rng.integers(4, 9))
    black = float(rng.uniform(15, 55))  # backlight bleed: a screen's black is dark grey
    white = float(rng.uniform(200, 255))
    pixels = np.kron(modules, np.ones((screen_px_per_module,) * 2, dtype=np.uint8))
    level = black + pixels.astype(np.float32) / 255.0 * (white - black)
    n = SCREEN_SUBPIXELS
    hi = np.kron(level, np.ones((n, n), dtype=np.float32))
    texture = np.zeros((*hi.shape, 3), dtype=np.float32)
    columns = np.arange(hi.shape[1]) % n
    for channel_bgr, column in ((2, 0), (1, 1), (0, 2)):  # R, G, B stripes left to right
        mix = np.full(3, SUBPIXEL_CROSSTALK, dtype=np.float32)
        mix[channel_bgr] = 1.0
        texture[:, columns == column, :] = hi[:, columns == column, None] * mix / _MEAN_MIX
    texture[np.arange(hi.shape[0]) % n == n - 1] *= float(rng.uniform(0.3, 0.7))
    return _f32(np.clip(texture, 0, 255))


def _paper_texture(modules: Image, contrast: float, rng: np.random.Generator) -> FloatImage:
    """A printed code: modules of a few texels, paper white and ink black drawn toward grey."""
    texels = int(rng.integers(6, 12))
    pixels = np.kron(modules, np.ones((texels, texels), dtype=np.uint8)).astype(np.float32)
    ink, paper = 128 - 118 * contrast, 128 + 110 * contrast
    gray = ink + pixels / 255.0 * (paper - ink)
    tint = rng.uniform(0.9, 1.05, size=3).astype(np.float32)
    return _f32(np.clip(gray[..., None] * tint, 0, 255))


def _tilted_corners(
    side_px: float,
    tilt_deg: float,
    center: npt.NDArray[np.float64],
    width: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """Corners of a square of `side_px` (seen face-on) rotated in 3-D and projected (pinhole)."""
    focal = FOCAL_FRACTION * width
    depth = focal  # the square's side at this depth projects to side_px
    half = side_px / 2
    square = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]])
    yaw, pitch = np.deg2rad(rng.uniform(-1, 1, size=2) * tilt_deg)
    # Residents hold phones and slips roughly upright; some turn them any way.
    roll = np.deg2rad(rng.uniform(-180, 180) if rng.random() < 0.25 else rng.uniform(-30, 30))
    rx = np.array(
        [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
    )
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    points = square @ (ry @ rx @ rz).T + np.array([0.0, 0.0, depth])
    projected = points[:, :2] * focal / points[:, 2:3]
    return np.asarray(projected + center, dtype=np.float32)


def _illumination(width: int, height: int, rng: np.random.Generator) -> FloatImage:
    """A gain field: vignette, a light gradient across the frame and a soft hand shadow."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7)
    radius2 = ((xs - cx) / width) ** 2 + ((ys - cy) / height) ** 2
    gain = 1.0 - float(rng.uniform(0.3, 0.7)) * radius2 / 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height).astype(np.float32)
    gain *= 1.0 + float(rng.uniform(0.2, 0.6)) * (ramp - ramp.mean())
    shadow: FloatImage = np.zeros((height, width), dtype=np.float32)
    axes = (int(width * rng.uniform(0.15, 0.35)), int(height * rng.uniform(0.2, 0.5)))
    centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
    cv2.ellipse(shadow, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    shadow = _f32(cv2.GaussianBlur(shadow, (0, 0), width * 0.04))
    gain *= 1.0 - float(rng.uniform(0.3, 0.6)) * shadow
    return _f32(np.clip(gain, 0.15, 1.6))


def _glare_spots(
    height: int,
    width: int,
    corners: npt.NDArray[np.float32],
    side: float,
    rng: np.random.Generator,
) -> FloatImage:
    """Specular reflections of ceiling lights: 1-3 bright spots on the code, sharp-edged cores."""
    spots = np.zeros((height, width), dtype=np.float32)
    centre = corners.mean(axis=0)
    for _ in range(int(rng.integers(1, 4))):
        x, y = (centre + rng.uniform(-0.35, 0.35, 2) * side).astype(int)
        axes = (
            max(2, int(side * rng.uniform(0.04, 0.14))),
            max(2, int(side * rng.uniform(0.02, 0.08))),
        )
        cv2.ellipse(spots, (int(x), int(y)), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    core = cv2.GaussianBlur(spots, (0, 0), max(1.0, side * 0.01))
    halo = cv2.GaussianBlur(spots, (0, 0), max(2.0, side * 0.06))
    return np.asarray(core * 255 * rng.uniform(0.7, 1.3) + halo * 255 * 0.6, dtype=np.float32)


def _defocus(frame: FloatImage, radius: float) -> FloatImage:
    """A lens out of focus: convolution with a disk."""
    size = int(np.ceil(radius)) * 2 + 1
    kernel = np.zeros((size, size), dtype=np.float32)
    cv2.circle(kernel, (size // 2, size // 2), max(1, round(radius)), 1.0, -1)
    return np.asarray(cv2.filter2D(frame, -1, kernel / kernel.sum()), dtype=np.float32)


def _motion(frame: FloatImage, length: int, angle_deg: float) -> FloatImage:
    """A hand moving during the exposure: convolution with a line."""
    size = length | 1
    kernel: FloatImage = np.zeros((size, size), dtype=np.float32)
    cv2.line(kernel, (0, size // 2), (size - 1, size // 2), 1.0, 1)
    rotation = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), angle_deg, 1.0)
    kernel = _f32(cv2.warpAffine(kernel, rotation, (size, size)))
    return np.asarray(cv2.filter2D(frame, -1, kernel / max(kernel.sum(), 1e-6)), np.float32)


def _texture(spec: FieldSpec, kinds: set[str], rng: np.random.Generator) -> tuple[FloatImage, int]:
    """The code's texture on its medium, and how the camera samples it."""
    modules = _code_modules(spec.text)
    if spec.medium == "phone":
        texture = _phone_texture(modules, rng)
        # Lens blur at screen scale sets how much of the sub-pixel grid aliases into moiré.
        texture = _f32(cv2.GaussianBlur(texture, (0, 0), float(rng.uniform(0.4, 1.4))))
        interpolation = cv2.INTER_LINEAR  # point sampling: the grid aliases
    else:
        contrast = rng.uniform(0.2, 0.45) if "contrast" in kinds else rng.uniform(0.7, 1.0)
        texture = _paper_texture(modules, contrast, rng)
        interpolation = cv2.INTER_AREA
    if spec.medium == "phone" and "contrast" in kinds:
        texture = _f32(128 + (texture - 128) * float(rng.uniform(0.25, 0.5)))
    return texture, interpolation


def _place_code(
    spec: FieldSpec, frame: FloatImage, kinds: set[str], rng: np.random.Generator
) -> tuple[FloatImage, npt.NDArray[np.float32], float]:
    """The frame with the code (and a phone's body) in it, the code's corners and side."""
    height, width = frame.shape[:2]
    long_payload = len(spec.text) >= LONG_PAYLOAD_CHARS
    side = float(rng.uniform(0.45, 0.65) if long_payload else rng.uniform(0.16, 0.6)) * height
    tilt = rng.uniform(25, 50) if "tilt" in kinds else rng.uniform(0, 12)
    margin = side * 0.75
    center = np.array(
        [
            rng.uniform(margin, width - margin) if 2 * margin < width else width / 2,
            rng.uniform(margin, height - margin) if 2 * margin < height else height / 2,
        ]
    )
    corners = _tilted_corners(side, tilt, center, width, rng)
    texture, interpolation = _texture(spec, kinds, rng)
    n = texture.shape[0]
    source = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners)
    warped = _f32(cv2.warpPerspective(texture, matrix, (width, height), flags=interpolation))
    ones = np.ones(texture.shape[:2], np.float32)
    mask = _f32(cv2.warpPerspective(ones, matrix, (width, height), flags=cv2.INTER_LINEAR))
    if spec.medium == "phone":  # the phone's body around its screen
        bezel = _f32(cv2.warpPerspective(ones, matrix @ _grow(n, 0.12), (width, height)))
        frame = _f32(frame * (1 - bezel[..., None]) + float(rng.uniform(10, 40)) * bezel[..., None])
    frame = _f32(frame * (1 - mask[..., None]) + warped * mask[..., None])
    return frame, corners, side


def _optics(frame: FloatImage, kinds: set[str], rng: np.random.Generator) -> FloatImage:
    """Defocus, motion blur, or the light blur every webcam lens adds."""
    if "defocus" in kinds:
        return _defocus(frame, float(rng.uniform(1.5, 4.5)))
    if "motion" in kinds:
        return _motion(frame, int(rng.integers(4, 13)), float(rng.uniform(0, 180)))
    return _f32(cv2.GaussianBlur(frame, (0, 0), float(rng.uniform(0.5, 1.0))))


def _sensor(frame: FloatImage, kinds: set[str], rng: np.random.Generator) -> Image:
    """Exposure and noise (shot and read), then the JPEG the camera pipeline delivers."""
    if "noise" in kinds:
        exposure = float(rng.uniform(0.35, 0.7))  # a dim room: less light, more gain
        electrons = np.clip(frame * exposure, 0, None)
        shot = rng.normal(0, 1, frame.shape) * np.sqrt(electrons) * float(rng.uniform(1, 2.5))
        read = rng.normal(0, float(rng.uniform(3, 9)), frame.shape)
        frame = _f32((electrons + shot + read) / exposure)
    canvas = np.clip(frame, 0, 255).astype(np.uint8)
    quality = int(rng.integers(12, 40)) if "jpeg" in kinds else int(rng.integers(70, 95))
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
    return np.asarray(decoded if decoded is not None else canvas, dtype=np.uint8)


def render_field_scene(spec: FieldSpec) -> Image:
    """The BGR frame a field spec describes (deterministic for a given spec)."""
    rng = np.random.default_rng(spec.seed)
    width, height = SIZES[spec.size]
    frame = _f32(background(width, height, rng))
    kinds = set(spec.degradations)
    if spec.text:
        frame, corners, side = _place_code(spec, frame, kinds, rng)
    if "uneven" in kinds:
        frame = _f32(frame * _illumination(width, height, rng)[..., None])
    if "glare" in kinds and spec.text:
        frame = _f32(frame + _glare_spots(height, width, corners, side, rng)[..., None])
    frame = _optics(_f32(np.clip(frame, 0, 255)), kinds, rng)
    return _sensor(frame, kinds, rng)


def _f32(array: npt.ArrayLike) -> FloatImage:
    return np.asarray(array, dtype=np.float32)


def _grow(n: int, fraction: float) -> npt.NDArray[np.float64]:
    """A homography mapping an n×n square grown by `fraction` per side onto texture coords."""
    pad = n * fraction
    grown = np.array([[-pad, -pad], [n + pad, -pad], [n + pad, n + pad], [-pad, n + pad]])
    square = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
    return np.asarray(cv2.getPerspectiveTransform(square, grown.astype(np.float32)), np.float64)


def field_set(count: int, *, seed: int = 7301) -> list[FieldSpec]:
    """`count` seeded field scenes: half on phones, 1-3 degradations each, 480p and 720p mixed."""
    rng = random.Random(seed)
    specs = []
    for index in range(count):
        long_payload = index % 5 == 4
        text = token_text(rng, LONG_PAYLOAD_CHARS if long_payload else rng.randint(12, 64))
        medium = "phone" if rng.random() < 0.5 else "paper"
        degradations = tuple(rng.sample(DEGRADATIONS, k=rng.choice([1, 2, 2, 3])))
        size = "720p" if rng.random() < 0.6 else "480p"
        specs.append(FieldSpec(text, size, medium, degradations, seed=seed * 1000 + index))
    return specs

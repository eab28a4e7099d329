"""Synthetic camera scenes with QR codes, for tests, benchmarks and demos (seeded, no fixtures).

A scene is a segno QR code warped onto a cluttered background at a camera resolution, then
degraded like a kiosk camera degrades it: scale, rotation, perspective, blur, sensor noise,
low contrast, glare from a phone screen, JPEG compression.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import numpy.typing as npt
import segno

Image = npt.NDArray[np.uint8]

QUIET_ZONE_MODULES = 4
SIZES: dict[str, tuple[int, int]] = {"480p": (640, 480), "720p": (1280, 720)}
LONG_PAYLOAD_CHARS = 300
TOKEN_ALPHABET = string.ascii_letters + string.digits


def token_text(rng: random.Random, length: int) -> str:
    """A random opaque token like those residents show (letters and digits)."""
    return "".join(rng.choices(TOKEN_ALPHABET, k=length))


def qr_image(text: str, module_px: int, *, error: str = "m") -> Image:
    """A grayscale QR code with its quiet zone, `module_px` pixels per module."""
    matrix = np.array(segno.make_qr(text, error=error).matrix, dtype=np.uint8)
    matrix = np.pad(matrix, QUIET_ZONE_MODULES, constant_values=0)
    pixels = np.where(matrix > 0, 0, 255).astype(np.uint8)
    return np.asarray(np.kron(pixels, np.ones((module_px, module_px), dtype=np.uint8)), np.uint8)


def background(width: int, height: int, rng: np.random.Generator) -> Image:
    """A cluttered BGR scene: shaded gradient, shapes, text-like strokes (a counter, a hand)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 190, size=3).astype(np.float32)
    slope = rng.uniform(-60, 60, size=(2, 3)).astype(np.float32)
    img = base + xs[..., None] / width * slope[0] + ys[..., None] / height * slope[1]
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(6, 14))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            w, h = int(rng.integers(20, width // 3)), int(rng.integers(20, height // 3))
            cv2.rectangle(canvas, (x, y), (x + w, y + h), color, -1)
        else:
            cv2.circle(canvas, (x, y), int(rng.integers(10, height // 4)), color, -1)
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(0, width - 50)), int(rng.integers(20, height))
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        words = "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789 "), size=12))
        cv2.putText(canvas, words, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, color, 2)
    return np.asarray(canvas, dtype=np.uint8)


@dataclass(frozen=True)
class Perturbation:
    """How a scene degrades the code; neutral values change nothing."""

    height_frac: float = 0.4  # code side (with quiet zone) over frame height
    rotation_deg: float = 0.0
    perspective: float = 0.0  # corner displacement as a fraction of the code side
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    contrast: float = 1.0  # 1 = black on white; 0.2 = dark grey on light grey
    glare: float = 0.0  # 0-1: strength of a bright elliptical highlight over the code
    jpeg_quality: int = 0  # 0 = no compression


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to regenerate one scene bit for bit."""

    text: str
    size: str
    perturbation: Perturbation = field(default_factory=Perturbation)
    seed: int = 0


def _warp_code(code: Image, spec: SceneSpec, canvas: Image, rng: np.random.Generator) -> Image:
    p = spec.perturbation
    height, width = canvas.shape[:2]
    side = max(8.0, p.height_frac * height)
    # Keep the whole rotated, skewed code inside the frame where it fits (0.71 = half diagonal).
    margin = side * (0.71 + p.perspective)
    center = np.array(
        [
            rng.uniform(margin, width - margin) if 2 * margin < width else width / 2,
            rng.uniform(margin, height - margin) if 2 * margin < height else height / 2,
        ]
    )
    half = side / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    corners += rng.uniform(-1, 1, size=(4, 2)) * p.perspective * side
    theta = np.deg2rad(p.rotation_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    target = (corners @ rotation.T + center).astype(np.float32)
    n = code.shape[0]
    source = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    lo = 127.5 * (1 - p.contrast)
    shaded = (lo + code.astype(np.float32) * p.contrast).astype(np.uint8)
    warped = cv2.warpPerspective(
        shaded, matrix, (width, height), flags=cv2.INTER_AREA, borderValue=0
    )
    mask = cv2.warpPerspective(
        np.full_like(code, 255), matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0
    )
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    out = canvas.astype(np.float32) * (1 - alpha) + warped[..., None].astype(np.float32) * alpha
    if p.glare > 0:
        spot = np.zeros((height, width), dtype=np.float32)
        gx, gy = (target.mean(axis=0) + rng.uniform(-0.2, 0.2, 2) * side).astype(int)
        axes = (int(side * 0.35), int(side * 0.2))
        cv2.ellipse(spot, (int(gx), int(gy)), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        glare = np.asarray(cv2.GaussianBlur(spot, (0, 0), side * 0.08 + 1), dtype=np.float32)
        out = out + glare[..., None] * 255.0 * p.glare
    return np.clip(out, 0, 255).astype(np.uint8)


def render_scene(spec: SceneSpec) -> Image:
    """The BGR frame a spec describes (deterministic for a given spec)."""
    rng = np.random.default_rng(spec.seed)
    width, height = SIZES[spec.size]
    canvas = background(width, height, rng)
    p = spec.perturbation
    if spec.text:
        version_side = segno.make_qr(spec.text, error="m").symbol_size(scale=1, border=4)[0]
        module_px = max(2, int(np.ceil(p.height_frac * height * 2 / version_side)))
        canvas = _warp_code(qr_image(spec.text, module_px), spec, canvas, rng)
    if p.blur_sigma > 0:
        canvas = np.asarray(cv2.GaussianBlur(canvas, (0, 0), p.blur_sigma), dtype=np.uint8)
    if p.noise_sigma > 0:
        noise = rng.normal(0, p.noise_sigma, canvas.shape)
        canvas = np.clip(canvas.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if p.jpeg_quality:
        ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, p.jpeg_quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            canvas = np.asarray(decoded, dtype=np.uint8)
    return canvas


def _perturb(rng: random.Random, long_payload: bool) -> Perturbation:
    """One or two degradations at random severity on a randomly placed, sized code."""
    base = Perturbation(
        height_frac=rng.uniform(0.45, 0.7) if long_payload else rng.uniform(0.15, 0.6),
        rotation_deg=rng.uniform(-15, 15),
    )
    kinds = rng.sample(
        ["scale", "rotation", "perspective", "blur", "noise", "contrast", "glare", "jpeg"],
        k=rng.choice([1, 1, 2]),
    )
    p = base
    for kind in kinds:
        if kind == "scale":
            p = replace(
                p, height_frac=rng.uniform(0.3, 0.5) if long_payload else rng.uniform(0.08, 0.2)
            )
        elif kind == "rotation":
            p = replace(p, rotation_deg=rng.uniform(-180, 180))
        elif kind == "perspective":
            p = replace(p, perspective=rng.uniform(0.05, 0.25))
        elif kind == "blur":
            p = replace(p, blur_sigma=rng.uniform(0.8, 3.5))
        elif kind == "noise":
            p = replace(p, noise_sigma=rng.uniform(8, 45))
        elif kind == "contrast":
            p = replace(p, contrast=rng.uniform(0.12, 0.5))
        elif kind == "glare":
            p = replace(p, glare=rng.uniform(0.4, 1.0))
        else:
            p = replace(p, jpeg_quality=rng.randint(5, 35))
    return p


def perturbation_set(count: int, *, seed: int = 2024) -> list[SceneSpec]:
    """`count` seeded scenes: short tokens and ~300-character payloads, 640×480 and 1280×720."""
    rng = random.Random(seed)
    specs = []
    for index in range(count):
        long_payload = index % 4 == 3
        text = token_text(rng, LONG_PAYLOAD_CHARS if long_payload else rng.randint(16, 48))
        size = "720p" if index % 2 else "480p"
        specs.append(SceneSpec(text, size, _perturb(rng, long_payload), seed=seed + index))
    return specs

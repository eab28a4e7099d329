"""Generated camera scenes shared by the camera tests (regenerated per session, never committed)."""

from __future__ import annotations

from drivers.camera.synth import LONG_PAYLOAD_CHARS, Perturbation, SceneSpec

SHORT_TOKEN = "https://kiosk.example.org/checkin/Qr7Tk2Lm9Xc4"
LONG_TOKEN = ("Lp3" * LONG_PAYLOAD_CHARS)[:LONG_PAYLOAD_CHARS]

SCENES: dict[str, SceneSpec] = {
    "short_480p": SceneSpec(SHORT_TOKEN, "480p", Perturbation(height_frac=0.35), seed=1),
    "short_720p": SceneSpec(SHORT_TOKEN, "720p", Perturbation(height_frac=0.3), seed=2),
    "long_720p": SceneSpec(LONG_TOKEN, "720p", Perturbation(height_frac=0.7), seed=3),
    "empty_480p": SceneSpec("", "480p", seed=4),
    "empty_720p": SceneSpec("", "720p", seed=5),
    "other_480p": SceneSpec("0123456789", "480p", Perturbation(height_frac=0.3), seed=6),
}

"""Decoder backends on generated scenes, and the scene generator itself."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.backends import BACKENDS, DEFAULT_BACKEND, Frame, make_decoder, to_gray, unsharp
from drivers.camera.synth import SIZES, perturbation_set, qr_image, render_scene
from tests.drivers.camera.scenes import LONG_TOKEN, SCENES, SHORT_TOKEN


def load_gray(scene_dir: Path, name: str) -> Frame:
    """A cached scene as grayscale."""
    frame = cv2.imread(str(scene_dir / f"{name}.png"), cv2.IMREAD_COLOR)
    assert frame is not None
    return to_gray(frame)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("scene", ["short_480p", "short_720p"])
def test_every_backend_decodes_a_short_token(scene_dir: Path, backend: str, scene: str) -> None:
    """Each backend returns exactly the short token from a clean generated frame."""
    assert make_decoder(backend).decode(load_gray(scene_dir, scene)) == [SHORT_TOKEN]


@pytest.mark.parametrize("backend", ["zxing", "pyzbar", "zxing+sharpen"])
def test_long_payload_decodes(scene_dir: Path, backend: str) -> None:
    """A 300-character payload at ~4+ px per module decodes exactly."""
    assert make_decoder(backend).decode(load_gray(scene_dir, "long_720p")) == [LONG_TOKEN]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_empty_frames_decode_to_nothing(scene_dir: Path, backend: str) -> None:
    """Cluttered frames without a code yield no text at either resolution."""
    decoder = make_decoder(backend)
    assert decoder.decode(load_gray(scene_dir, "empty_480p")) == []
    assert decoder.decode(load_gray(scene_dir, "empty_720p")) == []


def test_default_backend_and_unknown_name() -> None:
    """The default is a registered backend; an unknown name is a ValueError listing the known."""
    assert make_decoder().name == DEFAULT_BACKEND
    with pytest.raises(ValueError, match="zxing"):
        make_decoder("tesseract")


def test_to_gray_accepts_gray_bgr_and_bgra() -> None:
    """Gray frames pass through uncopied; BGR and BGRA convert to 2-D uint8."""
    gray = np.zeros((4, 6), dtype=np.uint8)
    assert to_gray(gray) is gray
    assert to_gray(np.zeros((4, 6, 3), dtype=np.uint8)).shape == (4, 6)
    assert to_gray(np.zeros((4, 6, 4), dtype=np.uint8)).shape == (4, 6)
    assert unsharp(gray).shape == (4, 6)


def test_scenes_are_deterministic_and_sized() -> None:
    """The same spec renders the same pixels, at the size it names."""
    spec = SCENES["short_480p"]
    first, second = render_scene(spec), render_scene(spec)
    assert first.shape == (SIZES["480p"][1], SIZES["480p"][0], 3)
    assert np.array_equal(first, second)
    assert qr_image("x", 3).shape[0] % 3 == 0


def test_perturbation_set_is_seeded_and_mixed() -> None:
    """The set is reproducible and mixes sizes, short tokens and 300-character payloads."""
    specs = perturbation_set(8, seed=11)
    assert specs == perturbation_set(8, seed=11)
    assert {s.size for s in specs} == {"480p", "720p"}
    assert {len(s.text) for s in specs} & {300}
    assert any(len(s.text) < 100 for s in specs)


def test_default_backend_is_accurate_on_a_small_perturbation_set() -> None:
    """The default decodes most of a small perturbed set and never returns a wrong text."""
    decoder = make_decoder()
    specs = perturbation_set(16, seed=99)
    hits = 0
    for spec in specs:
        found = decoder.decode(to_gray(render_scene(spec)))
        assert set(found) <= {spec.text}
        hits += spec.text in found
    assert hits >= 12

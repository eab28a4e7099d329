"""Decoder backends on generated scenes, and the scene generator itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    PREVIOUS_DEFAULT_BACKEND,
    Frame,
    StagedZxingDecoder,
    make_decoder,
    to_gray,
    unsharp,
)
from drivers.camera.field_scenes import field_set, render_field_scene
from drivers.camera.synth import (
    SIZES,
    Perturbation,
    SceneSpec,
    perturbation_set,
    qr_image,
    render_scene,
)
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


def test_default_decodes_more_field_scenes_than_the_previous_default() -> None:
    """On a small field set (moiré, glare, tilt, defocus…) the default decodes 11 of 12, all right.

    The previous default (zxing+sharpen) decodes 9 of these 12.
    """
    decoder = make_decoder()
    previous = make_decoder(PREVIOUS_DEFAULT_BACKEND)
    hits = previous_hits = 0
    for spec in field_set(12, seed=28):
        gray = to_gray(render_field_scene(spec))
        found = decoder.decode(gray)
        assert set(found) <= {spec.text}
        hits += spec.text in found
        previous_hits += spec.text in previous.decode(gray)
    assert hits >= 11
    assert hits > previous_hits


class CountingStaged(StagedZxingDecoder):
    """The staged decoder, counting how often its rescue passes and last resort run."""

    def __init__(self) -> None:
        super().__init__()
        self.rescues_run = 0
        inner = list(self._rescues)

        def counted(transform: Callable[[Frame], Frame]) -> Callable[[Frame], Frame]:
            def run(gray: Frame) -> Frame:
                self.rescues_run += 1
                return transform(gray)

            return run

        self._rescues = [counted(t) for t in inner]


def test_empty_frames_never_reach_the_rescue_passes(scene_dir: Path) -> None:
    """A frame without a code costs only the cheap passes (the 2 ms budget, docs/design.md §2.5)."""
    decoder = CountingStaged()
    for name in ("empty_480p", "empty_720p"):
        assert decoder.decode(load_gray(scene_dir, name)) == []
    for spec in field_set(6, seed=41):
        empty = render_field_scene(replace(spec, text=""))
        assert decoder.decode(to_gray(empty)) == []
    assert decoder.rescues_run == 0


def test_a_seen_but_unreadable_code_gets_the_rescue_passes() -> None:
    """A code the cheap passes detect but cannot decode is decoded by a preprocessed pass."""
    decoder = CountingStaged()
    spec = SceneSpec(SHORT_TOKEN, "480p", Perturbation(height_frac=0.3, blur_sigma=2.0), seed=1)
    gray = to_gray(render_scene(spec))
    assert make_decoder("zxing").decode(gray) == []
    assert decoder.decode(gray) == [SHORT_TOKEN]
    assert decoder.rescues_run >= 1


def test_inverted_codes_still_decode(scene_dir: Path) -> None:
    """Light-on-dark codes (a phone in dark mode) decode although the first pass skips inversion."""
    inverted = 255 - load_gray(scene_dir, "short_720p")
    assert make_decoder().decode(np.ascontiguousarray(inverted)) == [SHORT_TOKEN]

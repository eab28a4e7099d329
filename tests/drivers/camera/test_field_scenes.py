"""The field-scene generator: seeded, varied, and degrading codes the way real cameras do."""

from __future__ import annotations

from collections import Counter

import numpy as np

from drivers.camera.backends import to_gray
from drivers.camera.field_scenes import (
    DEGRADATIONS,
    FieldSpec,
    _code_modules,
    _phone_texture,
    field_set,
    render_field_scene,
)
from drivers.camera.synth import SIZES


def test_field_set_is_seeded_and_varied() -> None:
    """The same seed gives the same specs; a set mixes media, sizes, payloads and degradations."""
    specs = field_set(60, seed=3)
    assert specs == field_set(60, seed=3)
    assert specs != field_set(60, seed=4)
    assert {s.medium for s in specs} == {"phone", "paper"}
    assert {s.size for s in specs} == {"480p", "720p"}
    assert Counter(len(s.text) == 300 for s in specs)[True] == 12
    assert {d for s in specs for d in s.degradations} == set(DEGRADATIONS)
    assert all(1 <= len(s.degradations) <= 3 for s in specs)


def test_scenes_are_deterministic_and_sized() -> None:
    """A spec renders the same BGR pixels every time, at the size it names."""
    spec = FieldSpec("https://kiosk.example.org/x", "480p", "phone", ("glare", "tilt"), seed=5)
    first = render_field_scene(spec)
    assert first.shape == (SIZES["480p"][1], SIZES["480p"][0], 3)
    assert np.array_equal(first, render_field_scene(spec))


def test_phone_codes_carry_the_sub_pixel_grid_that_makes_moire() -> None:
    """A phone's white area alternates in brightness column by column (R, G, B) and row by row."""
    texture = _phone_texture(_code_modules("moire"), np.random.default_rng(1))
    gray = to_gray(texture.astype(np.uint8))
    quiet = gray[:24, :24].astype(np.float32)  # the quiet zone: all white modules
    column_means = [quiet[:, c::3].mean() for c in range(3)]
    row_means = [quiet[r::3, :].mean() for r in range(3)]
    assert max(column_means) - min(column_means) > 20
    assert row_means[2] < 0.9 * row_means[0]


def test_glare_spots_saturate_part_of_the_code() -> None:
    """Glare burns some pixels over the code to full white; without glare none are."""
    spec = FieldSpec("0123456789" * 3, "720p", "phone", ("glare",), seed=8)
    glared = to_gray(render_field_scene(spec))
    plain = to_gray(render_field_scene(FieldSpec(spec.text, "720p", "phone", ("jpeg",), seed=8)))
    assert int((glared >= 250).sum()) > 200
    assert int((glared >= 250).sum()) > 10 * int((plain >= 250).sum()) + 100

"""QR table: ms/frame with and without a code (640×480, 1280×720) and success on two scene sets.

Every backend decodes the same generated frames in the same run: the synthetic perturbation
set (drivers/camera/synth.py) and the field set (drivers/camera/field_scenes.py: phone-screen
moiré, glare spots, 3-D tilt, uneven light, defocus and motion blur, shot noise, JPEG). A decode
counts as a success only if the exact payload comes back; any other text is a wrong decode
(must stay 0). `qr.default.*` and `qr.previous_default.*` put the default beside the one it
replaced, measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, replace

from bench.runner import Figure
from drivers.camera.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    PREVIOUS_DEFAULT_BACKEND,
    Frame,
    QrDecoder,
    to_gray,
)
from drivers.camera.field_scenes import field_set, render_field_scene
from drivers.camera.synth import Perturbation, SceneSpec, perturbation_set, render_scene

SET_SEED = 2024
EMPTY_ROUNDS_PER_REPEAT = 5
FIELD_SEED = 5150  # the tests use other seeds, the tuning used 7301 and 4242
TIMING_CODE = "https://kiosk.example.org/checkin/Qr7Tk2Lm9Xc4"


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    scenes_per_case: int
    repeats: int
    set_size: int


QUICK = Plan(scenes_per_case=2, repeats=3, set_size=48)
FULL = Plan(scenes_per_case=4, repeats=7, set_size=200)


def _key(name: str) -> str:
    return name.replace("+", "_")


def _timing_frames(plan: Plan) -> dict[str, list[Frame]]:
    """Gray frames per case (`with_code_480p`, `without_code_720p`, …)."""
    cases: dict[str, list[Frame]] = {}
    for size in ("480p", "720p"):
        with_code, without = [], []
        for index in range(plan.scenes_per_case):
            spec = SceneSpec(TIMING_CODE, size, Perturbation(height_frac=0.3), seed=100 + index)
            with_code.append(to_gray(render_scene(spec)))
            without.append(to_gray(render_scene(replace(spec, text=""))))
        cases[f"with_code_{size}"] = with_code
        cases[f"without_code_{size}"] = without
    return cases


def _median_ms(decoder: QrDecoder, frames: list[Frame], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        for frame in frames:
            started = time.perf_counter()
            decoder.decode(frame)
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _interleaved_empty_ms(
    decoders: dict[str, QrDecoder], frames: list[Frame], rounds: int
) -> dict[str, float]:
    """p50 ms per empty frame for each decoder, taking turns frame by frame.

    Taking turns puts every decoder under the same machine load, so the ratio between them
    holds on a shared, noisy machine even when the absolute figures do not.
    """
    samples: dict[str, list[float]] = {name: [] for name in decoders}
    for _ in range(rounds):
        for frame in frames:
            for name, decoder in decoders.items():
                started = time.perf_counter()
                decoder.decode(frame)
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def _score(decoder: QrDecoder, scenes: list[tuple[str, Frame]]) -> tuple[int, int]:
    """(exact payloads decoded, wrong texts returned) over a scene set."""
    successes = wrong = 0
    for text, frame in scenes:
        found = decoder.decode(frame)
        successes += text in found
        wrong += sum(1 for t in found if t != text)
    return successes, wrong


def run(quick: bool) -> list[Figure]:
    """Measure every backend side by side; see the module docstring."""
    plan = QUICK if quick else FULL
    timing = _timing_frames(plan)
    scenes = [
        (s.text, to_gray(render_scene(s))) for s in perturbation_set(plan.set_size, seed=SET_SEED)
    ]
    print("   qr: rendering the field set", file=sys.stderr, flush=True)
    field = [
        (s.text, to_gray(render_field_scene(s))) for s in field_set(plan.set_size, seed=FIELD_SEED)
    ]
    decoders = {name: factory() for name, factory in BACKENDS.items()}
    figures: list[Figure] = [
        Figure("qr.set_size", len(scenes), "frames", f"seed {SET_SEED}, 480p and 720p mixed"),
        Figure("qr.field.set_size", len(field), "frames", f"seed {FIELD_SEED}, phone and paper"),
    ]
    rates: dict[str, float] = {}
    empty_cost: dict[str, float] = {}
    scores: dict[str, tuple[int, int, int, int]] = {}
    for name, decoder in decoders.items():
        print(f"   qr: {name}", file=sys.stderr, flush=True)
        decoder.decode(timing["with_code_480p"][0])  # warm-up (lazy init, caches)
        for case, frames in timing.items():
            ms = _median_ms(decoder, frames, plan.repeats)
            if case == "without_code_720p":
                empty_cost[name] = ms
            figures.append(Figure(f"qr.{_key(name)}.ms_{case}", ms, "ms", "median per frame"))
        successes, wrong = _score(decoder, scenes)
        field_ok, field_wrong = _score(decoder, field)
        scores[name] = (successes, wrong, field_ok, field_wrong)
        rates[name] = successes / len(scenes)
        figures.append(Figure(f"qr.{_key(name)}.success_rate", rates[name], "", "exact payload"))
        figures.append(Figure(f"qr.{_key(name)}.wrong_decodes", wrong, "", "must be 0"))
        figures.append(
            Figure(f"qr.field.{_key(name)}.decoded", field_ok, "frames", f"of {len(field)}")
        )
        figures.append(Figure(f"qr.field.{_key(name)}.wrong_decodes", field_wrong, "", "must be 0"))
    best = max(rates, key=lambda n: (round(rates[n], 3), -empty_cost[n]))
    figures.append(
        Figure("qr.best_backend", best, "", "highest success, then cheapest empty frame")
    )
    figures.append(Figure("qr.default_backend", DEFAULT_BACKEND, "", "drivers/camera/backends.py"))
    compared = {
        "default": DEFAULT_BACKEND,
        "previous_default": PREVIOUS_DEFAULT_BACKEND,
        "plain_zxing": "zxing",
    }
    empty_p50 = _interleaved_empty_ms(
        {label: decoders[name] for label, name in compared.items()},
        timing["without_code_720p"],
        plan.repeats * EMPTY_ROUNDS_PER_REPEAT,
    )
    for label, name in compared.items():
        successes, wrong, field_ok, field_wrong = scores[name]
        figures += [
            Figure(f"qr.{label}.field_decoded", field_ok, "frames", f"{name}, of {len(field)}"),
            Figure(f"qr.{label}.synth_decoded", successes, "frames", f"{name}, of {len(scenes)}"),
            Figure(f"qr.{label}.wrong_decodes", wrong + field_wrong, "", "both sets; must be 0"),
            Figure(
                f"qr.{label}.empty_720p_ms_p50",
                empty_p50[label],
                "ms",
                "1280×720, no code; the three take turns frame by frame",
            ),
        ]
    figures.append(
        Figure(
            "qr.default.empty_720p_vs_previous",
            empty_p50["default"] / empty_p50["previous_default"],
            "x",
            "same run, same frames",
        )
    )
    return figures

"""Read-aloud speaks Mandarin and English offline."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from kiosk.runtime.speech import Speaker


@pytest.mark.parametrize(
    ("language", "text"),
    [("zh", "请将身份证放在读卡区"), ("en", "Please place your ID card on the reader")],
)
def test_speech_renders_audible_audio(tmp_path: Path, language: str, text: str) -> None:
    """espeak-ng turns each language's prompt into at least a second of audio."""
    speaker = Speaker()
    assert speaker.available
    out = tmp_path / f"{language}.wav"
    speaker.render(text, language, out)
    with wave.open(str(out)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert seconds > 1.0


def test_say_returns_at_once_and_stop_cuts_it_off() -> None:
    """say() does not block the UI; stop() ends the utterance (used at every wipe)."""
    speaker = Speaker()
    speaker.say("这是一段很长的测试语音，" * 20, "zh")
    speaker.stop()
    speaker.say("", "zh")  # nothing to say is not an error


def test_missing_espeak_is_not_an_error() -> None:
    """Without espeak-ng, voice mode is silently unavailable."""
    speaker = Speaker(executable=None)
    speaker.executable = None
    assert not speaker.available
    speaker.say("你好", "zh")

"""Offline read-aloud with espeak-ng (Mandarin `cmn`, English `en`), one utterance at a time."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en"}
WORDS_PER_MINUTE = {"zh": 150, "en": 140}  # slower than espeak's 175: many listeners are elderly
MAX_TEXT_CHARS = 2000


class Speaker:
    """Speaks text without blocking; a new utterance cuts the previous one off."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("espeak-ng")
        self._lock = threading.Lock()
        self._current: subprocess.Popen[bytes] | None = None

    @property
    def available(self) -> bool:
        """False on a machine without espeak-ng (voice mode then does nothing)."""
        return self.executable is not None

    def _argv(self, language: str, extra: list[str]) -> list[str]:
        assert self.executable is not None
        voice = VOICES.get(language, "cmn")
        rate = str(WORDS_PER_MINUTE.get(language, 150))
        # The text goes through stdin, not argv: process listings must not show what is said.
        return [self.executable, "-v", voice, "-s", rate, "--stdin", *extra]

    def say(self, text: str, language: str) -> None:
        """Start speaking `text` (zh or en) and return at once."""
        if not self.available or not text.strip():
            return
        with self._lock:
            self._stop_locked()
            try:
                process = subprocess.Popen(  # noqa: S603 — fixed executable, no shell
                    self._argv(language, []),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                log.warning("read-aloud unavailable: %s", type(exc).__name__)
                return
            assert process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(text[:MAX_TEXT_CHARS].encode("utf-8"))
                process.stdin.close()
            self._current = process

    def stop(self) -> None:
        """Stop speaking (e.g. at a wipe: nothing of one resident is said to the next)."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._current is not None and self._current.poll() is None:
            self._current.kill()
            self._current.wait(timeout=2)
        self._current = None

    def render(self, text: str, language: str, wav_path: Path) -> None:
        """Speak into a WAV file instead of the speaker (tests, voice prompt checks)."""
        if not self.available:
            raise RuntimeError("espeak-ng is not installed")
        subprocess.run(  # noqa: S603 — fixed executable, no shell
            self._argv(language, ["-w", str(wav_path)]),
            input=text[:MAX_TEXT_CHARS].encode("utf-8"),
            check=True,
            timeout=30,
            capture_output=True,
        )

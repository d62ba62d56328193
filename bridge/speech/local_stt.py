"""Speech-to-text on this machine with faster-whisper and a model directory the user provides.

faster-whisper is optional (it pulls large wheels), so it is imported only when used; when it
is missing, or the model directory is, the message says what to install or set, never a
traceback. The model runs in a worker thread, loaded once.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import io
import threading
from pathlib import Path
from typing import Any

from bridge.errors import SpeechError
from bridge.speech.ogg import looks_like_ogg, read_ogg_opus

INSTALL_HINT = (
    "Local speech-to-text needs faster-whisper: pip install faster-whisper "
    "(in Chavion's virtualenv), and voice.stt.model_dir set to a model directory."
)


def faster_whisper_problem() -> str | None:
    """None when faster-whisper can be imported, else what to do."""
    if importlib.util.find_spec("faster_whisper") is None:
        return INSTALL_HINT
    return None


def model_dir_problem(model_dir: Path | None) -> str | None:
    """None when `model_dir` looks like a CTranslate2 whisper model, else what is wrong."""
    if model_dir is None:
        return (
            "Local speech-to-text needs voice.stt.model_dir: a faster-whisper model "
            "directory (e.g. one downloaded from Systran/faster-whisper-small)."
        )
    if not model_dir.is_dir():
        return f"Local speech-to-text: the model directory {model_dir} does not exist."
    if not any(model_dir.iterdir()):
        return f"Local speech-to-text: the model directory {model_dir} is empty."
    if not (model_dir / "model.bin").is_file():
        return (
            f"Local speech-to-text: {model_dir} has no model.bin; it must be a "
            "faster-whisper (CTranslate2) model directory."
        )
    return None


def local_stt_problem(model_dir: Path | None) -> str | None:
    """The model directory first (the user's own step), then the optional package."""
    return model_dir_problem(model_dir) or faster_whisper_problem()


def check_audio(audio: bytes, mimetype: str) -> None:
    """Refuse empty or damaged input before the model sees it (Ogg/Opus is checked whole)."""
    if not audio:
        raise SpeechError("The voice message is empty: there is nothing to transcribe.")
    if mimetype.lower().startswith("audio/ogg") or looks_like_ogg(audio):
        read_ogg_opus(audio)


class LocalTranscriber:
    """`SpeechToText` with faster-whisper on CPU."""

    def __init__(
        self, model_dir: Path | None, *, device: str = "cpu", compute_type: str = "int8"
    ) -> None:
        self._model_dir = model_dir
        self._device = device
        self._compute_type = compute_type
        self._model: Any = None
        self._lock = threading.Lock()

    async def transcribe(self, audio: bytes, mimetype: str, language: str | None) -> str:
        # Every page's CRC in pure Python: ~3 s for the 20 MB allowed, so off the event loop.
        await asyncio.to_thread(check_audio, audio, mimetype)
        problem = local_stt_problem(self._model_dir)
        if problem is not None:
            raise SpeechError(problem)
        return await asyncio.to_thread(self._transcribe, audio, language)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                module = importlib.import_module("faster_whisper")
                try:
                    self._model = module.WhisperModel(
                        str(self._model_dir), device=self._device, compute_type=self._compute_type
                    )
                except Exception as exc:  # the library raises bare RuntimeErrors and OSErrors
                    raise SpeechError(
                        f"Local speech-to-text could not load the model in {self._model_dir}: "
                        f"{' '.join(str(exc).split())[:200]}"
                    ) from exc
            return self._model

    def _transcribe(self, audio: bytes, language: str | None) -> str:
        model = self._load()
        try:
            segments, _info = model.transcribe(io.BytesIO(audio), language=language or None)
            return " ".join(segment.text.strip() for segment in segments).strip()
        except Exception as exc:  # decoding (PyAV) and inference errors alike
            raise SpeechError(
                "Local speech-to-text could not read the voice message: "
                f"{' '.join(str(exc).split())[:200] or type(exc).__name__}"
            ) from exc

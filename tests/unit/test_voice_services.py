"""Which speech backends the settings build, and the sentence said when a side cannot work."""

from __future__ import annotations

import importlib.util
import itertools
from dataclasses import replace
from pathlib import Path

import pytest

from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.settings.voice import SpeechToTextSettings, TextToSpeechSettings, VoiceSettings
from bots.voice.services import SpeechServices, speech_services
from bots.voice.tts_backend import config_argument
from bridge.speech.local_stt import model_dir_problem
from bridge.speech.local_tts import LocalSpeaker, espeak_argv, espeak_voices, known_voice
from bridge.speech.openai_stt import OpenAITranscriber, upload_name
from bridge.speech.openai_tts import OpenAISpeaker
from bridge.speech.opus import Encoder, find_encoder

BASE = load_settings(EXAMPLE_CONFIG)
ALL_TOOLS = {"espeak-ng": "/usr/bin/espeak-ng", "opusenc": "/usr/bin/opusenc"}
NO_OPUSENC = {"espeak-ng": "/usr/bin/espeak-ng", "ffmpeg": "/usr/bin/ffmpeg"}
KEY = {"OPENAI_API_KEY": "sk-test"}
LOCAL_HINT = "run scripts/voice-tools as root, or: apt-get install espeak-ng opus-tools"


def build(
    stt: SpeechToTextSettings,
    tts: TextToSpeechSettings,
    environ: dict[str, str],
    tools: dict[str, str],
) -> SpeechServices:
    settings = replace(BASE, voice=VoiceSettings(stt=stt, tts=tts))
    return speech_services(settings, environ=environ, which=tools.get)


@pytest.mark.parametrize(
    ("stt", "environ", "kind", "problem"),
    [
        (SpeechToTextSettings(backend="off"), KEY, None,
         "Voice input is off (voice.stt.backend: off)."),
        (SpeechToTextSettings(backend="openai"), KEY, OpenAITranscriber, None),
        (SpeechToTextSettings(backend="openai"), {}, None,
         "Voice input needs an API key: set OPENAI_API_KEY (voice.stt.api_key_env) in "
         "Chavion's environment file, or voice.stt.base_url to a server that needs none."),
        (SpeechToTextSettings(backend="openai", api_key_env="STT_KEY"), {"STT_KEY": " "}, None,
         "Voice input needs an API key: set STT_KEY (voice.stt.api_key_env) in "
         "Chavion's environment file, or voice.stt.base_url to a server that needs none."),
        (SpeechToTextSettings(backend="openai", base_url="http://127.0.0.1:8000/v1"), {},
         OpenAITranscriber, None),
    ],
    ids=["off", "openai-with-key", "openai-no-key", "openai-blank-key", "local-whisper-server"],
)  # fmt: skip
def test_speech_to_text_is_built_or_explained(
    stt: SpeechToTextSettings, environ: dict[str, str], kind: type | None, problem: str | None
) -> None:
    services = build(stt, TextToSpeechSettings(backend="off"), environ, ALL_TOOLS)
    assert services.problem_stt == problem
    assert (services.stt is None) if kind is None else isinstance(services.stt, kind)


@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is not None, reason="faster-whisper is installed"
)
def test_local_speech_to_text_without_faster_whisper_says_how_to_install_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    services = build(
        SpeechToTextSettings(backend="local", model_dir=tmp_path), TextToSpeechSettings(), {}, {}
    )
    assert services.stt is None
    assert services.problem_stt == (
        "Local speech-to-text needs faster-whisper: pip install faster-whisper "
        "(in Chavion's virtualenv), and voice.stt.model_dir set to a model directory."
    )


def model_dirs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "README.md").write_text("not a model")
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "model.bin").write_bytes(b"weights")
    return {name: tmp_path / name for name in ("empty", "other", "good", "missing")}


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (None, "Local speech-to-text needs voice.stt.model_dir: a faster-whisper model "
               "directory (e.g. one downloaded from Systran/faster-whisper-small)."),
        ("missing", "Local speech-to-text: the model directory {dir} does not exist."),
        ("empty", "Local speech-to-text: the model directory {dir} is empty."),
        ("other", "Local speech-to-text: {dir} has no model.bin; it must be a "
                  "faster-whisper (CTranslate2) model directory."),
        ("good", None),
    ],
    ids=["unset", "missing", "empty", "not-a-model", "model"],
)  # fmt: skip
def test_the_model_directory_is_checked_before_loading(
    tmp_path: Path, name: str | None, problem: str | None
) -> None:
    path = None if name is None else model_dirs(tmp_path)[name]
    expected = None if problem is None else problem.format(dir=path)
    assert model_dir_problem(path) == expected


@pytest.mark.parametrize(
    ("tts", "environ", "tools", "kind", "problem"),
    [
        (TextToSpeechSettings(backend="off"), KEY, ALL_TOOLS, None,
         "Voice output is off (voice.tts.backend: off)."),
        (TextToSpeechSettings(backend="local"), {}, ALL_TOOLS, LocalSpeaker, None),
        (TextToSpeechSettings(backend="local"), {}, NO_OPUSENC, LocalSpeaker, None),
        (TextToSpeechSettings(backend="local"), {}, {"opusenc": "/usr/bin/opusenc"}, None,
         f"Local text-to-speech needs espeak-ng: {LOCAL_HINT}."),
        (TextToSpeechSettings(backend="local"), {}, {}, None,
         "Local text-to-speech needs espeak-ng and opusenc (opus-tools) or ffmpeg: "
         f"{LOCAL_HINT}."),
        (TextToSpeechSettings(backend="openai"), KEY, {"opusenc": "/usr/bin/opusenc"},
         OpenAISpeaker, None),
        (TextToSpeechSettings(backend="openai"), {}, ALL_TOOLS, None,
         "Voice output needs an API key: set OPENAI_API_KEY (voice.tts.api_key_env) in "
         "Chavion's environment file, or voice.tts.base_url to a server that needs none."),
        (TextToSpeechSettings(backend="openai"), KEY, {}, None,
         "Voice output needs opusenc (opus-tools) or ffmpeg to encode the speech API's "
         "audio: run scripts/voice-tools as root, or apt-get install opus-tools."),
    ],
    ids=["off", "local", "local-ffmpeg", "local-no-espeak", "local-nothing", "openai",
         "openai-no-key", "openai-no-encoder"],
)  # fmt: skip
def test_text_to_speech_is_built_or_explained(
    tts: TextToSpeechSettings,
    environ: dict[str, str],
    tools: dict[str, str],
    kind: type | None,
    problem: str | None,
) -> None:
    services = build(SpeechToTextSettings(backend="off"), tts, environ, tools)
    assert services.problem_tts == problem
    assert (services.tts is None) if kind is None else isinstance(services.tts, kind)


def test_the_example_config_speaks_locally_and_hears_through_openai() -> None:
    services = speech_services(BASE, environ=KEY, which=ALL_TOOLS.get)
    assert isinstance(services.stt, OpenAITranscriber)
    assert isinstance(services.tts, LocalSpeaker)
    assert (services.problem_stt, services.problem_tts) == (None, None)


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        (ALL_TOOLS, Encoder("opusenc", "/usr/bin/opusenc")),
        ({**ALL_TOOLS, "ffmpeg": "/usr/bin/ffmpeg"}, Encoder("opusenc", "/usr/bin/opusenc")),
        (NO_OPUSENC, Encoder("ffmpeg", "/usr/bin/ffmpeg")),
        ({"espeak-ng": "/usr/bin/espeak-ng"}, None),
    ],
    ids=["opusenc", "both-prefers-opusenc", "ffmpeg", "neither"],
)
def test_the_encoder_is_opusenc_else_ffmpeg(
    tools: dict[str, str], expected: Encoder | None
) -> None:
    assert find_encoder(tools.get) == expected


@pytest.mark.parametrize(
    ("name", "pairs"),
    [
        ("opusenc", [("--raw-rate", "22050"), ("--raw-chan", "1"), ("--raw-bits", "16")]),
        ("ffmpeg", [("-ar", "22050"), ("-ac", "1"), ("-i", "pipe:0"), ("-c:a", "libopus")]),
    ],
    ids=["opusenc", "ffmpeg"],
)
def test_encoders_read_raw_mono_pcm_at_its_rate_on_stdin(
    name: str, pairs: list[tuple[str, str]]
) -> None:
    argv = Encoder(name, f"/usr/bin/{name}").argv(22_050)
    assert argv[0] == f"/usr/bin/{name}"
    adjacent = set(itertools.pairwise(argv))
    assert all(pair in adjacent for pair in pairs), argv
    output = ["-", "-"] if name == "opusenc" else ["-f", "ogg", "pipe:1"]
    assert argv[-len(output) :] == output


def test_espeak_reads_stdin_and_writes_wav_to_stdout() -> None:
    assert espeak_argv("/usr/bin/espeak-ng", "ko") == [
        "/usr/bin/espeak-ng", "-v", "ko", "-s", "165", "--stdout"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mimetype", "name"),
    [
        ("audio/ogg", "voice.ogg"),
        ("audio/ogg; codecs=opus", "voice.ogg"),
        ("audio/mp4", "voice.m4a"),
        ("AUDIO/MPEG", "voice.mp3"),
        ("audio/webm", "voice.webm"),
        ("application/octet-stream", "voice.ogg"),
    ],
    ids=["ogg", "ogg-with-codecs", "mp4", "upper-case", "webm", "unknown-as-ogg"],
)
def test_the_upload_is_named_so_the_api_knows_its_format(mimetype: str, name: str) -> None:
    assert upload_name(mimetype) == name


@pytest.mark.parametrize(
    ("argv", "config"),
    [
        ([], None),
        (["--detach"], None),
        (["--config", "/etc/chavion.yaml", "--detach"], "/etc/chavion.yaml"),
        (["--config=/etc/c.yaml"], "/etc/c.yaml"),
        (["--config"], None),
    ],
    ids=["none", "other-flag", "separate", "joined", "dangling"],
)
def test_scripts_up_reads_the_config_chavion_up_would(argv: list[str], config: str | None) -> None:
    assert config_argument(argv) == config


VOICES = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  af              --/M      Afrikaans          gmw/af
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  ko              --/M      Korean             ko
"""


@pytest.mark.parametrize(
    ("voice", "known"),
    [
        ("ko", True),
        ("KO", True),
        ("en-us", True),
        ("en-US", True),
        ("gmw/en-US", True),
        ("English_(America)", True),
        ("en-us+f3", True),
        ("af", True),
        ("Pty", False),
        ("ja", False),
        ("no-such-voice", False),
        ("", False),
    ],
    ids=["language", "upper-case", "dialect", "file-part", "file", "voice-name", "variant",
         "first-row", "header-is-not-a-voice", "not-installed", "made-up", "empty"],
)  # fmt: skip
def test_espeak_voices_are_the_names_its_listing_accepts(voice: str, known: bool) -> None:
    assert known_voice(voice, espeak_voices(VOICES)) is known

"""The bridge's one exception family: library errors are converted at the edge into these."""


class BridgeError(Exception):
    """Base of every error raised by the bridge package."""


class ProviderError(BridgeError):
    """An LLM provider failed; the message is fit to show in the room."""


class SpeechError(BridgeError):
    """Speech-to-text or text-to-speech failed or is not set up; the message is fit to show
    in the room (e.g. "local speech-to-text needs faster-whisper: pip install …")."""

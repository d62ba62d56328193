"""The executor's one exception family: callers catch meaning, never asyncssh types."""

from __future__ import annotations

from executor.results import RunResult


class ExecutorError(Exception):
    """A command could not be run; the message is fit to show to a person."""


class UnknownHost(ExecutorError):
    """The command names a host that is not in the configuration."""


class HostUnreachable(ExecutorError):
    """No SSH connection could be made: refused, no route, unknown name, or no answer."""


class ConnectTimeout(HostUnreachable):
    """The host did not complete the SSH handshake and login in time."""


class AuthFailed(ExecutorError):
    """The host refused the login, or the configured private key cannot be used."""


class HostKeyMismatch(ExecutorError):
    """The host's key is not the one in known_hosts (or not listed): the connection is refused."""


class ConnectionLost(ExecutorError):
    """An open connection broke while a command was starting or running."""


class RunInterrupted(ConnectionLost):
    """The connection broke while the command ran: how it ended on the host is unknown.
    `partial` holds what it printed until then (masked, cut like any result)."""

    def __init__(self, message: str, partial: RunResult) -> None:
        super().__init__(message)
        self.partial = partial

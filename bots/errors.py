"""The bots package's exception tree: callers catch meaning, never library types."""


class BotError(Exception):
    """Base of every error raised inside the bots package."""


class ConfigError(BotError):
    """The configuration is invalid; the message names the dotted key and what is wrong."""


class CommandError(BotError):
    """A command cannot be done as asked; the message is said to the user as it is."""


class HomeserverError(BotError):
    """Synapse could not be started, reached or provisioned."""


class MatrixError(BotError):
    """A Matrix request failed; raised only by `bots.matrix` and `bots.homeserver.admin_api`."""


class StoreError(BotError):
    """The store could not be opened, migrated or queried; the library error is its cause."""


class TaskError(BotError):
    """A task cannot move as asked (from one state to another); the message names both."""

"""Everything that touches Matrix: the bot runtime, routing, commands and the store.

Only `bots.matrix` imports nio; the rest works on plain `Message` and `Reply` values.
"""

__version__ = "0.1.0"

"""Putting it together: the `chavion` command, the runtime that runs bots, the data dir and
the settings read from the config file."""

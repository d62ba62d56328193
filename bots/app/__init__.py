"""Putting it together: the `chavion` command and its procedures, the runtime that builds and
runs bots, the data dir, the settings read from the config file and background task upkeep."""

"""Putting it together: the `chavion` command and its procedures (up, down, info), and the
runtime that builds every bot and runs them in one process. Nothing else in `bots/` imports
this package: it is the top of the graph."""

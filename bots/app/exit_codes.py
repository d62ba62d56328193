"""What `chavion`'s exit status tells whoever restarts it (systemd's `Restart=always`).

A config error does not mend itself: retrying it every ten seconds forever only fills the
journal, so it has its own status, which the service unit names in
`RestartPreventExitStatus=`. Everything else that stops a command (the homeserver not
answering yet, the network not up at boot, Chavion already running) may pass, so it keeps
the status a restart retries.
"""

from __future__ import annotations

OK = 0
FAILED = 2
"""A failure that may pass by itself (retried by the service unit)."""
CONFIG_ERROR = 78
"""The configuration is invalid (sysexits.h's EX_CONFIG): fix the config, then start again."""
INTERRUPTED = 130
"""Stopped with Ctrl-C (128 + SIGINT)."""

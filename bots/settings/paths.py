"""Where Chavion finds its files: the repository's config folder, the defaults shipped inside
the package, and the variables that move them.

Kept apart from the settings themselves: the CLI needs these locations without needing a
config file read. The defaults (`BUILTIN_PERSONA`, the policy lists in `executor/policy/data/`)
are package data, so a config file kept anywhere finds them; paths a config names resolve
against that file's folder.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_ENV = "CHAVION_CONFIG"
DATA_DIR_ENV = "CHAVION_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "chavion.example.yaml"
DEFAULT_CONFIG = REPO_ROOT / "config" / "chavion.yaml"
BUILTIN_PERSONA = Path(__file__).resolve().parents[1] / "agents" / "prompts" / "agent.md.j2"
"""The persona template of an agent whose config names none (package data)."""

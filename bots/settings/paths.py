"""Where Chavion finds its files: the repository's config folder and the variables that move it.

Kept apart from the settings themselves: the Synapse templates and the CLI need these
locations without needing a config file read.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_ENV = "CHAVION_CONFIG"
DATA_DIR_ENV = "CHAVION_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "chavion.example.yaml"
DEFAULT_CONFIG = REPO_ROOT / "config" / "chavion.yaml"
POLICY_DIR = REPO_ROOT / "config" / "policy"

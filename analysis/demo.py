"""Where the demo data set lies, and what it is."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.errors import ErrorscopeError

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo_data"


def demo_config() -> dict:
    """The demo's ``path`` (its predictions file), ``dataset`` name and documented ``human_error``."""
    config_path = DEMO_DIR / "demo.json"
    if not config_path.is_file():
        raise ErrorscopeError(f"no demo data in {DEMO_DIR}; run errorscope from a checkout of the project")
    config = json.loads(config_path.read_text())
    config["path"] = str(DEMO_DIR / config["file"])
    return config

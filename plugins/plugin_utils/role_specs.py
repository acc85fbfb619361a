# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The options of every role of the collection, read from the roles' meta/argument_specs.yml (controller side).

The argument specs are the one statement of each setting's type, choices and default; the controller-side
validation and the list of settings it looks at are read from them, not written again.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"


@lru_cache(maxsize=4)
def role_options(roles_dir: Path = ROLES_DIR) -> dict[str, dict[str, Any]]:
    """Option name -> its spec, over the main entry point of every role."""
    options: dict[str, dict[str, Any]] = {}
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        specs = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
        options.update(((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {})
    return options


def secret_options(roles_dir: Path = ROLES_DIR) -> list[str]:
    """The options the specs declare secret (``no_log: true``): the one list that no_log, redaction and the
    report's scrubbing of values follow."""
    return sorted(name for name, spec in role_options(roles_dir).items() if (spec or {}).get("no_log"))

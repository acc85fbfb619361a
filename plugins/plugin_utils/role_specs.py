# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The options of every role of the collection, read from the roles' meta/argument_specs.yml (controller side).

The argument specs are the one statement of each setting's type, choices and default; the controller-side
validation and the list of settings it looks at are read from them, not written again; so is how a setting given
as a string (``-e key=value``, INI inventories) is read as the number or boolean its spec declares.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.validation import check_type_bool, check_type_float, check_type_int

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


# What a message adds after the rule of a number or boolean: -e gives every value as a string, and that is fine.
DIGITS_OK = "(a string of digits, as -e gives it, is fine)"
NUMBER_OK = "(a string such as '0.9', as -e gives it, is fine)"
BOOLEAN_RULE = "it must be true or false (yes/no, on/off and 1/0 too; quoted or not, as -e gives them, is fine)"
# ansible-core's own converters, so a string reads here exactly as the roles' argument validation reads it.
_CONVERTERS = {"int": check_type_int, "float": check_type_float, "bool": check_type_bool}


def spec_value(value: Any, kind: str | None) -> Any:
    """``value`` as a setting of spec type ``kind``: "8192" -> 8192 (int), "yes" -> True (bool), "0.9" -> 0.9 (float).

    ``-e key=value`` and INI inventories give every value as a string, and a role's argument validation converts
    it only to check it: the variable stays a string. Null and the other types come back unchanged. A value that
    does not convert raises TypeError or ValueError; so does a boolean where a number is expected (YAML's ``yes``
    for a port is a slip, not a 1).
    """
    convert = _CONVERTERS.get(kind or "")
    if convert is None or value is None:
        return value
    if kind != "bool" and isinstance(value, bool):
        raise TypeError(f"{value!r} is a boolean, not a number")
    return convert(value)

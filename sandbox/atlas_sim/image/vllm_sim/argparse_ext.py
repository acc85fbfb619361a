"""vLLM's argument conventions on top of argparse (vllm/utils FlexibleArgumentParser and the type helpers).

argparse itself produces the error texts, so they come out exactly as vLLM's do on Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_KEY_PART = re.compile(r"(?<=--)[^.]*")


def normalize_args(args: list[str]) -> list[str]:
    """Apply vLLM's rewrites: `_` -> `-` in flag names, dotted keys folded into one JSON value, --config files."""
    out: list[str] = []
    dotted: dict[str, dict[str, Any]] = {}
    dotted_pos: dict[str, int] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            out.append(arg)
            i += 1
            continue
        key, eq, value = arg.partition("=")
        key = _KEY_PART.sub(lambda m: m.group(0).replace("_", "-"), key)
        if "." in key:
            base, _, sub = key.partition(".")
            if not eq:
                i += 1
                value = args[i] if i < len(args) else ""
            _set_dotted(dotted.setdefault(base, {}), sub, value)
            if base not in dotted_pos:
                dotted_pos[base] = len(out)
                out.append(base)
            i += 1
            continue
        out.append(f"{key}={value}" if eq else key)
        i += 1
    # Dotted keys become `--flag JSON`, placed where the first of them appeared.
    for base in sorted(dotted_pos, key=dotted_pos.__getitem__, reverse=True):
        pos = dotted_pos[base]
        out[pos : pos + 1] = [base, json.dumps(dotted[base])]
    return out


def _set_dotted(target: dict[str, Any], path: str, raw: str) -> None:
    keys = path.split(".")
    append = keys[-1].endswith("+")
    if append:
        keys[-1] = keys[-1][:-1]
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    value: Any
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if append:
        target.setdefault(keys[-1], []).extend(raw.split(","))
    else:
        target[keys[-1]] = value


def expand_config_file(args: list[str], subcommand_index: int) -> list[str]:
    """Insert the keys of `--config FILE.yaml` after the subcommand and the positional model (CLI > file)."""
    if "--config" not in args:
        return args
    idx = args.index("--config")
    if idx + 1 >= len(args):
        return args
    path = Path(args[idx + 1])
    file_args: list[str] = []
    for key, value in _read_flat_yaml(path).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            if value:
                file_args.append(flag)
            continue
        if isinstance(value, list):
            file_args.append(flag)
            file_args.extend(str(v) for v in value)
            continue
        file_args.extend([flag, str(value)])
    rest = args[:idx] + args[idx + 2 :]
    insert_at = subcommand_index + 1
    if insert_at < len(rest) and not rest[insert_at].startswith("-"):
        insert_at += 1
    return rest[:insert_at] + file_args + rest[insert_at:]


def _read_flat_yaml(path: Path) -> dict[str, Any]:
    # The image has no PyYAML; vLLM config files are flat `key: value` maps, which this reader covers.
    result: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].rstrip()
        if not line or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, _, raw = line.partition(":")
        raw = raw.strip()
        if raw in ("true", "True"):
            result[key.strip()] = True
        elif raw in ("false", "False"):
            result[key.strip()] = False
        else:
            try:
                result[key.strip()] = json.loads(raw)
            except json.JSONDecodeError:
                result[key.strip()] = raw.strip("'\"")
    return result


def optional_type(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    def _parse(val: str) -> Any:
        if val == "" or val == "None":
            return None
        return fn(val)

    _parse.__name__ = fn.__name__
    return _parse


def human_readable_int(value: str) -> int:
    """`1k` = 1000, `1K` = 1024, decimals allowed with lowercase suffixes (vLLM's parser)."""
    value = value.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG])", value)
    if match:
        number, suffix = match.groups()
        decimal = {"k": 10**3, "m": 10**6, "g": 10**9}
        binary = {"K": 2**10, "M": 2**20, "G": 2**30}
        if suffix in decimal:
            return int(float(number) * decimal[suffix])
        if "." in number:
            raise argparse.ArgumentTypeError(f"Decimals are not allowed with binary suffixes like {suffix}.")
        return int(number) * binary[suffix]
    return int(value)


def json_loads(val: str) -> Any:
    try:
        return json.loads(val)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"Value {val} cannot be converted to <function loads>.") from exc


json_loads.__name__ = "loads"


def json_or_str(val: str) -> Any:
    if val.strip().startswith("{"):
        return json_loads(val)
    return val


json_or_str.__name__ = "union_dict_and_str"

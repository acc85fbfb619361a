"""The roles convert their number and boolean settings where they compute with them.

``-e key=value`` and INI inventories give every value as a string, and a role's argument validation converts a value
only to check it: ``-e vllm_image_timeout=600`` leaves the string "600" in the variable (extra vars outrank
``set_fact``), and ``-e vllm_image_archive_keep=false`` a string that Jinja counts as true. So every setting an
argument spec types int, float or bool must pass ``| int``, ``| float`` or ``| bool`` before Jinja computes with it.

The scan is a heuristic over the text, not a Jinja parser. It reads the Jinja of every role's tasks, handlers,
templates, vars and defaults and of the playbooks: ``{{ }}``, ``{% %}``, the ``[% %]`` of templates that choose
those delimiters, and the bare expressions of ``when``, ``that``, ``failed_when``, ``changed_when`` and ``until``. A
use of a typed setting that is not followed by ``| int``, ``| float`` or ``| bool`` (after any ``| default(...)``
and the parentheses around it) is reported when it

- stands next to an arithmetic or comparison operator (``+ - * / // % < > <= >= == !=``),
- is tested for truth (``not x``, ``if x``, ``x and ...``, ``x or ...``, a ``when`` that is the bare variable),
- is the argument of ``range()``, or
- has its type tested (``is boolean``, ``is number``, ...: a test that refuses what -e gives).

Its limits: it follows a setting by its name only, so a value first copied into another variable and computed with
there is not seen; it does not judge the argument of ``default()`` (the variable in front of it is judged); values
read as attributes of other data (``__vllm_flags.vllm_max_model_len``: the vllm_serve_values lookup converts those by
their spec type) and names inside string literals and messages are out of its scope; and a value handed whole to a
module, an action or one of the collection's filters is left to that code's own conversion (module argument specs
convert; the filters read numeric strings, see tests/unit/filter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONVERTED = re.compile(r"\|\s*(int|float|bool)\b")
DEFAULT_CALL = re.compile(r"\|\s*default\s*\(")
OPERATOR_AFTER = re.compile(r"(//|\*\*|[-+*/%]|[<>]=?|[=!]=)")
OPERATOR_BEFORE = re.compile(r"(//|\*\*|[-+*/%]|[<>]=?|[=!]=)$")
TRUTH_BEFORE = re.compile(r"(?:^|\W)(not|if|elif|and|or)$")
TRUTH_AFTER = re.compile(r"($|(and|or|else|if)\b)")
TYPE_TEST = re.compile(r"is\s+(not\s+)?(boolean|number|integer|float|string)\b")
RANGE_CALL = re.compile(r"\brange\s*\($")
JINJA_BLOCK = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\[%(.*?)%\]", re.S)
# Task keywords whose value is a bare Jinja expression.
RAW_KEY = re.compile(r"^(?P<indent>\s*)(?:- )?(?:when|that|failed_when|changed_when|until):[ \t]*(?P<value>.*)$")
STRING = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def typed_settings() -> dict[str, str]:
    """Every option an argument spec of a role types int, float or bool, with its type."""
    names = {}
    for spec_file in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(spec_file.read_text(encoding="utf-8"))["argument_specs"] or {}).values():
            for name, spec in ((entry or {}).get("options") or {}).items():
                if (spec or {}).get("type") in ("int", "float", "bool"):
                    names[name] = spec["type"]
    return names


def scanned_files() -> list[Path]:
    files = [REPO / "deploy.yml", *sorted((REPO / "playbooks").rglob("*.yml"))]
    for role in sorted((REPO / "roles").iterdir()):
        for part in ("tasks", "handlers", "vars", "defaults"):
            files += sorted((role / part).rglob("*.yml"))
        files += sorted((role / "templates").rglob("*.j2"))
    return files


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    # A bare expression (when:, that:, ...): a setting that is all of it, or follows `not`, is tested for truth.
    raw: bool


def _unquoted(text: str, start: int, end: int) -> tuple[int, int]:
    value = text[start:end].rstrip()
    end = start + len(value)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return start + 1, end - 1
    return start, end


def segments(text: str, yaml_file: bool) -> list[Segment]:
    """The stretches of the text that are Jinja code."""
    found = [Segment(match.start(group), match.end(group), raw=False)
             for match in JINJA_BLOCK.finditer(text) for group in (1, 2, 3) if match.group(group) is not None]
    if not yaml_file:
        return found
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    index = 0
    while index < len(lines):
        match = RAW_KEY.match(lines[index].rstrip("\n"))
        index += 1
        if not match or lines[index - 1].lstrip().startswith("#"):
            continue
        value = match.group("value")
        if value and value[0] not in ">|":
            if "{{" not in value:
                found.append(Segment(*_unquoted(text, offsets[index - 1] + match.start("value"),
                                                offsets[index - 1] + match.end("value")), raw=True))
            continue
        # A list of expressions or a folded block: the lines indented under the key.
        indent = len(match.group("indent"))
        while index < len(lines):
            line = lines[index].rstrip("\n")
            depth = len(line) - len(line.lstrip())
            if line.strip() and (depth < indent or (depth == indent and not line.lstrip().startswith("- "))):
                break
            body = line.lstrip()
            if body and not body.startswith("#") and "{{" not in body:
                skip = len(line) - len(body) + (2 if body.startswith("- ") else 0)
                found.append(Segment(*_unquoted(text, offsets[index] + skip, offsets[index] + len(line)), raw=True))
            index += 1
    return found


def _code(text: str) -> str:
    """The segment with string literals blanked (same length), except a subscript key: hostvars[h]['x'] -> [ x ]."""
    def blank(match: re.Match) -> str:
        literal = match.group(0)
        before = text[:match.start()].rstrip()
        after = text[match.end():].lstrip()
        if before.endswith("[") and after.startswith("]"):
            return " " + literal[1:-1] + " "
        return " " * len(literal)
    return STRING.sub(blank, text)


def _skip_call(code: str, open_paren: int) -> int:
    depth = 0
    for index in range(open_paren, len(code)):
        depth += {"(": 1, ")": -1}.get(code[index], 0)
        if depth == 0:
            return index + 1
    return len(code)


def _atom_start(code: str, start: int) -> int:
    """Where the expression naming the setting starts: hostvars[h]['x'] starts at hostvars."""
    index = start
    while index > 0 and code[index - 1] == " ":
        index -= 1
    if index == 0 or code[index - 1] != "[":
        return start
    index -= 1
    while index > 0 and (code[index - 1].isalnum() or code[index - 1] in "_.]"):
        if code[index - 1] == "]":
            depth = 0
            while index > 0:
                index -= 1
                depth += {"]": 1, "[": -1}.get(code[index], 0)
                if depth == 0:
                    break
        else:
            index -= 1
    return index


def unsafe_uses(text: str, names: dict[str, str], yaml_file: bool) -> list[tuple[int, str, str]]:
    """(offset, setting, why) for each use of a typed setting that Jinja would compute with unconverted."""
    pattern = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?!\w)")
    found = []
    for segment in segments(text, yaml_file):
        code = _code(text[segment.start:segment.end])
        for match in pattern.finditer(code):
            start, end = _atom_start(code, match.start()), match.end()
            if code[end:].lstrip().startswith("]"):
                end = code.index("]", end) + 1
            before = code[:start].rstrip()
            if re.search(r"\bdefault\s*\($", before):
                continue
            # Parentheses opened right before the setting group it; those closed after it end the group.
            opened = len(before) - len(before.rstrip("(")) if not re.search(r"[\w.]\(+$", before) else 0
            grouped_before = before.rstrip("(") if opened else before
            index, reason = end, None
            while True:
                rest = code[index:]
                index += len(rest) - len(rest.lstrip())
                rest = code[index:]
                if DEFAULT_CALL.match(rest):
                    index = _skip_call(code, index + DEFAULT_CALL.match(rest).end() - 1)
                elif CONVERTED.match(rest):
                    break
                elif rest.startswith(")") and opened:
                    opened, index = opened - 1, index + 1
                else:
                    after = rest
                    if OPERATOR_AFTER.match(after) or OPERATOR_BEFORE.search(grouped_before.rstrip()):
                        reason = "is computed with (arithmetic or comparison)"
                    elif TYPE_TEST.match(after):
                        reason = "has its type tested"
                    elif RANGE_CALL.search(before):
                        reason = "is given to range()"
                    elif TRUTH_AFTER.match(after) and (TRUTH_BEFORE.search(grouped_before.rstrip())
                                                       or (segment.raw and not grouped_before.strip())):
                        reason = "is tested for truth"
                    break
            if reason:
                found.append((segment.start + match.start(), match.group(1), reason))
    return found


def _report(path: Path, text: str, names: dict[str, str]) -> list[str]:
    return [f"{path.relative_to(REPO)}:{text.count(chr(10), 0, offset) + 1}: {name} ({names[name]}) {why}; "
            f"convert it with | {names[name]}"
            for offset, name, why in unsafe_uses(text, names, path.suffix == ".yml")]


def test_the_specs_type_the_settings_the_scan_follows() -> None:
    names = typed_settings()
    assert {"vllm_max_model_len", "vllm_image_timeout", "vllm_image_archive_keep",
            "prometheus_alert_kv_cache_usage"} <= set(names)
    assert len(names) > 60


def test_every_role_converts_its_typed_settings_where_jinja_computes_with_them() -> None:
    names = typed_settings()
    problems = [line for path in scanned_files() for line in _report(path, path.read_text(encoding="utf-8"), names)]
    assert problems == [], "\n".join(problems)


# The sites this guard was written for, as they were, and as they are now.
UNSAFE = [
    "retries: \"{{ (vllm_benchmark_timeout / vllm_benchmark_poll_interval) | round(0, 'ceil') | int }}\"",
    "retries: \"{{ (aisbench_timeout / aisbench_poll_interval) | round(0, 'ceil') | int }}\"",
    "retries: \"{{ (vllm_image_timeout / 5) | round(0, 'ceil') | int }}\"",
    "add_timeout: \"{{ (hostvars[__vllm_router_gateway]['vllm_router_worker_startup_timeout']\n"
    "                  | default(vllm_router_worker_startup_timeout)) + 10 }}\"",
    "  when: not vllm_image_archive_keep\n",
    "vllm_devices: \"{{ npu_driver_healthy_devices | default(range(vllm_npu_count) | list) }}\"",
    "> [% '%g' | format(prometheus_alert_kv_cache_usage * 100) %]",
    "    that: model_weights_shared is boolean\n",
    "x: \"{{ 'CRITICAL' if hccl_network_multi_node else 'WARNING' }}\"",
    "  when:\n    - vllm_hccl_reserve_ports\n    - vllm_remove_unplanned | bool\n",
    "  when: vllm_jemalloc_preload and vllm_multi_node | bool\n",
    "{% if vllm_enforce_eager %}--enforce-eager{% endif %}",
    "    that:\n      - npu_exporter_port >= 1025\n",
]
SAFE = [
    "retries: \"{{ ((vllm_benchmark_timeout | int) / (vllm_benchmark_poll_interval | int)) | round(0, 'ceil') | int }}\"",
    "retries: \"{{ (vllm_image_timeout | int / 5) | round(0, 'ceil') | int }}\"",
    "add_timeout: \"{{ (hostvars[__vllm_router_gateway]['vllm_router_worker_startup_timeout']\n"
    "                  | default(vllm_router_worker_startup_timeout) | int) + 10 }}\"",
    "  when: not vllm_image_archive_keep | bool\n",
    "vllm_devices: \"{{ npu_driver_healthy_devices | default(range(vllm_npu_count | int) | list) }}\"",
    "> [% '%g' | format(prometheus_alert_kv_cache_usage | float * 100) %]",
    "      - model_weights_timeout | int >= model_weights_progress_interval | int\n",
    "  when: atlas_lock_break | default(false) | bool\n",
    # Handed whole to a module or a task keyword, written into text, or named in a message.
    "    timeout: \"{{ vllm_health_timeout }}\"\n",
    "  async: \"{{ vllm_benchmark_timeout }}\"\n",
    "    selfsigned_not_after: \"+{{ vllm_gateway_ca_days }}d\"\n",
    "    keepalive {{ vllm_gateway_router_keepalive }};\n",
    "  {{ ['npu-exporter', '-port=' ~ npu_exporter_port] }}",
    "    msg: \"waited ' ~ atlas_lock_wait ~ ' s; wait for atlas_lock_max_age or atlas_lock_break\"\n",
    "    fail_msg: >-\n      vllm_image_timeout is {{ vllm_image_timeout }} or less\n",
    "# when: not vllm_image_archive_keep\n",
    # Read from the vllm_serve_values lookup, which converts by spec type.
    "      - (__vllm_flags.vllm_max_model_len) <= __vllm_max_positions | int\n",
]


@pytest.mark.parametrize("snippet", UNSAFE)
def test_the_scan_finds_an_unconverted_use(snippet: str) -> None:
    assert unsafe_uses(snippet, typed_settings(), yaml_file=True), snippet


@pytest.mark.parametrize("snippet", SAFE)
def test_the_scan_leaves_converted_and_passed_on_values_alone(snippet: str) -> None:
    assert unsafe_uses(snippet, typed_settings(), yaml_file=True) == [], snippet

"""Write the variable references from every role's meta/argument_specs.yml (the single source of truth).

    .venv/bin/python scripts/variables_doc.py          # rewrite docs/variables.md and every roles/<role>/README.md
    .venv/bin/python scripts/variables_doc.py --check  # exit 1 naming every file out of date (a unit test runs it)

docs/variables.md is generated whole. A role's README.md is prose written by hand around one generated block, the
table of every option of every entry point of the role; only the text between the two marker lines below is
rewritten. A README without the markers is refused, never appended to: the block belongs under `## Variables`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "variables.md"
ROLES = REPO / "roles"

BEGIN = "<!-- BEGIN GENERATED: variables (scripts/variables_doc.py) -->"
END = "<!-- END GENERATED -->"


_MARKUP = re.compile(r"\b[COVIM]\(([^()]*)\)")


def _markup(match: re.Match) -> str:
    # O(atlas.vllm.atlas#role:main:atlas_state_dir) names another role's option: the reader wants its name.
    return f"`{match.group(1).rsplit(':', 1)[-1] if '#role:' in match.group(1) else match.group(1)}`"


def _text(value: object) -> str:
    if isinstance(value, list):
        value = " ".join(str(part) for part in value)
    text = _MARKUP.sub(_markup, " ".join(str(value or "").split()))
    return text.replace("|", "\\|")


def _code(value: object) -> str:
    return "`" + yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip() + "`"


def _default(spec: dict, defaults: dict, name: str) -> str:
    if "default" in spec:
        return _code(spec["default"]).replace("|", "\\|")
    if name in defaults:
        return _code(defaults[name]).replace("|", "\\|")
    return "required" if spec.get("required") else "unset"


def _kind(spec: dict) -> str:
    kind = spec.get("type", "str")
    if spec.get("choices"):
        kind += " (" + ", ".join(str(c) for c in spec["choices"]) + ")"
    return kind


def _entry_points(role_dir: Path) -> dict:
    spec_file = role_dir / "meta" / "argument_specs.yml"
    if not spec_file.exists():
        return {}
    return (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs") or {}


def _defaults(role_dir: Path) -> dict:
    defaults_file = role_dir / "defaults" / "main.yml"
    return (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}


_HEADER = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]


def render() -> str:
    lines = ["# Variable reference", "",
             "Generated from each role's `meta/argument_specs.yml` by `scripts/variables_doc.py`; a unit test fails",
             "when it is out of date. Public variables carry their role's name as prefix; variables starting with",
             "`__` are private to their role. Playbook-wide settings (`atlas_*`) are listed at the end.", ""]
    for spec_file in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        role = spec_file.parents[1].name
        main = _entry_points(spec_file.parents[1]).get("main", {})
        defaults = _defaults(spec_file.parents[1])
        lines += [f"## {role}", "", _text(main.get("short_description")), ""]
        lines += _HEADER
        for name, spec in sorted((main.get("options") or {}).items()):
            lines.append(f"| `{name}` | {_kind(spec)} | {_default(spec, defaults, name)} "
                         f"| {_text(spec.get('description'))} |")
        lines.append("")
    lines += ["## Playbook-wide settings", "", "| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {default} | {meaning} |" for name, default, meaning in PLAYBOOK_SETTINGS]
    return "\n".join(lines) + "\n"


PLAYBOOK_SETTINGS = [
    ("atlas_multi_node", "`false`",
     "an instance spans nodes: NPU-network problems become CRITICAL, hccn_tool is mounted"),
    ("atlas_max_fail_percentage", "`0`", "share of CRITICAL nodes the preflight tolerates while healthy nodes go on"),
    ("atlas_health_timeout", "`900`", "seconds verify waits for every instance to be ready"),
    ("atlas_probe_prompt", "`What is in this image?`", "question of the multimodal probe"),
    ("atlas_teardown_images", "`false`", "teardown also removes the vLLM and exporter images no container uses"),
    ("atlas_teardown_weights", "`false`", "teardown also removes the model directory"),
]


def render_role_variables(role: str) -> str:
    """The text between the markers of roles/<role>/README.md: one table per entry point, main first."""
    role_dir = ROLES / role
    entry_points = _entry_points(role_dir)
    defaults = _defaults(role_dir)
    lines = ["Generated from the role's `meta/argument_specs.yml` (edit the options there); "
             "[docs/variables.md](../../docs/variables.md) lists the variables of every role of the collection.",
             ""]
    if not entry_points:
        return "\n".join(lines + ["The role has no `meta/argument_specs.yml`, so it takes no variables."])
    names = sorted(entry_points, key=lambda name: (name != "main", name))
    for entry in names:
        spec = entry_points[entry] or {}
        if len(names) > 1:
            where = "" if entry == "main" else f" (`tasks_from: {entry}.yml`)"
            lines += [f"Entry point `{entry}`{where}: {_text(spec.get('short_description')).rstrip('.')}.", ""]
        options = spec.get("options") or {}
        if not options:
            lines += ["No options.", ""]
            continue
        lines += _HEADER
        for name, option in sorted(options.items()):
            mark = " **(required)**" if option.get("required") else ""
            lines.append(f"| `{name}`{mark} | {_kind(option)} | {_default(option, defaults, name)} "
                         f"| {_text(option.get('description'))} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


class MarkerError(ValueError):
    """A README whose generated block cannot be found unambiguously."""


def splice(path: Path, text: str, block: str) -> str:
    """Return text with what lies between its markers replaced by block; refuse a README without one pair."""
    begins, ends = text.count(BEGIN), text.count(END)
    if begins == 0 and ends == 0:
        raise MarkerError(
            f"{path.relative_to(REPO)} has no generated variables block. Add these two lines under its "
            f"'## Variables' heading, then run .venv/bin/python scripts/variables_doc.py again:"
            f"\n    {BEGIN}\n    {END}")
    start, end = text.find(BEGIN), text.find(END)
    if begins != 1 or ends != 1 or end < start:
        raise MarkerError(
            f"{path.relative_to(REPO)} has {begins} '{BEGIN}' and {ends} '{END}' line(s); keep exactly one of each, "
            "BEGIN first, under '## Variables'.")
    return text[:start + len(BEGIN)] + "\n" + block + "\n" + text[end:]


def role_names() -> list[str]:
    return sorted(path.name for path in ROLES.iterdir() if path.is_dir())


def expected() -> tuple[dict[Path, str], list[str]]:
    """Every generated file with the text it should have, and the problems that stop the generator."""
    files = {TARGET: render()}
    problems = []
    for role in role_names():
        readme = ROLES / role / "README.md"
        if not readme.exists():
            problems.append(
                f"{readme.relative_to(REPO)} does not exist. Write it (## Purpose, ## Requirements, ## Variables, "
                f"## Example, ## What it changes and what it only reads) with these two lines under "
                f"'## Variables', then run .venv/bin/python scripts/variables_doc.py again:\n    {BEGIN}\n    {END}")
            continue
        try:
            files[readme] = splice(readme, readme.read_text(), render_role_variables(role))
        except MarkerError as exc:
            problems.append(str(exc))
    return files, problems


def main() -> int:
    files, problems = expected()
    for problem in problems:
        print(problem, file=sys.stderr)
    if "--check" in sys.argv[1:]:
        stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path} is out of date: run .venv/bin/python scripts/variables_doc.py", file=sys.stderr)
        return 1 if stale or problems else 0
    if problems:
        print("nothing written: fix the README(s) named above first", file=sys.stderr)
        return 1
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

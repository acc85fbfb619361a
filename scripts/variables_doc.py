"""Write docs/variables.md from every role's meta/argument_specs.yml (the single source of truth).

    .venv/bin/python scripts/variables_doc.py          # rewrite docs/variables.md
    .venv/bin/python scripts/variables_doc.py --check  # exit 1 when the file is out of date (a unit test runs this)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "variables.md"


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


def render() -> str:
    lines = ["# Variable reference", "",
             "Generated from each role's `meta/argument_specs.yml` by `scripts/variables_doc.py`; a unit test fails",
             "when it is out of date. Public variables carry their role's name as prefix; variables starting with",
             "`__` are private to their role. Playbook-wide settings (`atlas_*`) are listed at the end.", ""]
    for spec_file in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        role = spec_file.parents[1].name
        main = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs", {}).get("main", {})
        defaults_file = spec_file.parents[1] / "defaults" / "main.yml"
        defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
        lines += [f"## {role}", "", _text(main.get("short_description")), ""]
        lines += ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
        for name, spec in sorted((main.get("options") or {}).items()):
            kind = spec.get("type", "str")
            if spec.get("choices"):
                kind += " (" + ", ".join(str(c) for c in spec["choices"]) + ")"
            lines.append(f"| `{name}` | {kind} | {_default(spec, defaults, name)} | {_text(spec.get('description'))} |")
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
    ("atlas_teardown_images", "`false`", "teardown also removes the image when no container uses it"),
    ("atlas_teardown_weights", "`false`", "teardown also removes the model directory"),
]


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run .venv/bin/python scripts/variables_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

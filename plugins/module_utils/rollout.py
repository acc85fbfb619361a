# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Pure decisions of a rolling change: batch size, batches, the check-mode plan and the rollback report.

Nothing here does I/O. A rolling change takes the nodes that need a change out of the router a batch at a time
(in inventory order), changes them, waits for them to be healthy and puts them back; a node whose instances do
not come back is rolled back to its previous settings and reported with ``rollback_message``.
"""

from __future__ import annotations

import re
from typing import Any

_COUNT_RE = re.compile(r"^[0-9]+$")
_PERCENT_RE = re.compile(r"^([0-9]+)%$")


def _batch_rule(node_count: int) -> str:
    return f"must be a whole number of nodes from 1 to {node_count}, or a percentage from 1% to 100%"


def resolve_batch_size(value: Any, node_count: int) -> int:
    """How many nodes change at a time: ``2``, ``"2"`` or ``"25%"`` of ``node_count`` (rounded down, at least 1).

    ValueError, stating the rule, for 0, negatives, more nodes than ``node_count``, booleans, fractions,
    unparsable strings (``"two"``, ``"25 %"``, ``"%"``, ``"33.5%"``), 0% and more than 100%.
    """
    if isinstance(node_count, bool) or not isinstance(node_count, int) or node_count < 1:
        raise ValueError(f"node count must be a whole number of at least 1, got {node_count!r}")
    rule = _batch_rule(node_count)
    if isinstance(value, bool):
        raise ValueError(f"batch size {value!r} is not valid: {rule}")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str):
        text = value.strip()
        percent = _PERCENT_RE.match(text)
        if percent:
            pct = int(percent.group(1))
            if not 1 <= pct <= 100:
                raise ValueError(f"batch size {value!r} is not valid: {rule}")
            return max(1, node_count * pct // 100)
        if not _COUNT_RE.match(text):
            raise ValueError(f"batch size {value!r} is not valid: {rule}")
        count = int(text)
    else:
        raise ValueError(f"batch size {value!r} is not valid: {rule}")
    if not 1 <= count <= node_count:
        raise ValueError(f"batch size {value!r} is not valid: {rule}")
    return count


def plan_batches(nodes: list[str], changing: list[str], batch_size: int) -> list[list[str]]:
    """Consecutive batches of at most ``batch_size`` nodes of ``changing``, in the order of ``nodes``.

    Nodes that are not in ``changing`` never appear; a node listed twice is taken once. ValueError when
    ``batch_size`` is below 1 or ``changing`` names a node that ``nodes`` does not hold.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a whole number of at least 1, got {batch_size!r}")
    unknown = sorted(set(changing) - set(nodes))
    if unknown:
        raise ValueError(f"nodes to change are not in the node list: {', '.join(unknown)}")
    wanted = set(changing)
    ordered: list[str] = []
    for node in nodes:
        if node in wanted and node not in ordered:
            ordered.append(node)
    return [ordered[start:start + batch_size] for start in range(0, len(ordered), batch_size)]


def batch_plan_lines(batches: list[list[str]], instances_by_node: dict[str, list[str]]) -> list[str]:
    """One line per batch for check mode, e.g. ``batch 1/2: atlas-01 (vllm-0, vllm-1), atlas-02 (vllm-0)``."""
    if not batches:
        return ["no node needs a change"]
    lines = []
    for number, batch in enumerate(batches, start=1):
        parts = []
        for node in batch:
            names = instances_by_node.get(node) or []
            parts.append(f"{node} ({', '.join(names)})" if names else f"{node} (no instances)")
        lines.append(f"batch {number}/{len(batches)}: {', '.join(parts)}")
    return lines


def _failure_cause(failure: dict[str, Any], log_lines: int) -> str:
    """Why one instance failed: exit code and last log lines of a crash, else its state and detail."""
    container = failure.get("container") if isinstance(failure.get("container"), dict) else {}
    exit_code = failure.get("exit_code", container.get("exit_code"))
    logs = failure.get("logs_tail") or failure.get("logs") or container.get("logs_tail") or []
    if isinstance(logs, str):
        logs = logs.splitlines()
    state = failure.get("state") or "failed"
    detail = failure.get("detail")
    cause = f"{state}: {detail}" if detail else state
    if exit_code is not None and "exit code" not in cause:
        cause += f" (exit code {exit_code})"
    if logs and log_lines > 0:
        tail = [str(line) for line in logs][-log_lines:]
        cause += f"\n    last {len(tail)} log lines:\n" + "\n".join(f"      {line}" for line in tail)
    return cause


def rollback_message(
    node: str,
    failures: list[dict[str, Any]],
    rolled_back: list[str],
    restored_ok: bool,
    log_lines: int = 10,
) -> str:
    """What an operator reads when a node's change failed and was rolled back (or could not be).

    ``failures`` are instance entries as ``vllm_health`` returns them (``name``, ``url``, ``state``, ``detail``
    and, for a crashed container, ``container.exit_code`` and ``container.logs_tail``; top-level ``exit_code``
    and ``logs``/``logs_tail`` are read too). ``rolled_back`` names the instances put back to their previous
    settings; ``restored_ok`` tells whether they are healthy again afterwards.
    """
    names = ", ".join(str(failure.get("name") or "?") for failure in failures) or "no instance"
    lines = [f"{node}: the change failed on {names}"]
    for failure in failures:
        label = str(failure.get("name") or "?")
        if failure.get("url"):
            label += f" ({failure['url']})"
        lines.append(f"  {label}: {_failure_cause(failure, log_lines)}")
    if restored_ok:
        if rolled_back:
            lines.append(
                f"{node}: {', '.join(rolled_back)} rolled back to their previous settings and healthy again; "
                "the rollout stopped here"
            )
        else:
            lines.append(f"{node}: no settings had been changed, nothing was rolled back; the rollout stopped here")
    else:
        tried = f" of {', '.join(rolled_back)}" if rolled_back else ""
        lines.append(
            f"{node}: the rollback{tried} to the previous settings failed as well; "
            f"{node} needs an operator before the rollout can go on"
        )
    return "\n".join(lines)

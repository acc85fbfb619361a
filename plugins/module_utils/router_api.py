# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Pure helpers for the vLLM router's worker API (PyPI ``vllm-router``) and its worker-list file.

Nothing here does I/O. The router answers ``GET /list_workers`` with ``{"urls": [...]}`` and changes its
membership with ``POST /add_worker?url=...`` and ``POST /remove_worker?url=...``. Membership is runtime state
only, so the list is also kept in a systemd EnvironmentFile that the router's unit reads when it starts.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_VARIABLE = "ATLAS_ROUTER_WORKERS"
_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE_RE = re.compile(r"[\s\"'\\$`]")


def normalize_url(url: str) -> str:
    """``HTTP://Node-1:8000/`` → ``http://node-1:8000``: scheme and host lower-cased, trailing ``/`` removed.

    ValueError when the URL is not http(s) or has no host.
    """
    if not isinstance(url, str):
        raise ValueError(f"worker url {url!r} is not a string")
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"worker url {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"worker url {url!r} has no host")
    try:
        dummy = parts.port
    except ValueError as exc:
        raise ValueError(f"worker url {url!r} has an invalid port") from exc
    userinfo, dummy, hostport = parts.netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + hostport.lower()
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


def parse_worker_list(body: str | bytes) -> list[str]:
    """The worker URLs of a ``GET /list_workers`` answer, as the router spells them.

    ValueError naming what is wrong when the body is not JSON, has no ``urls`` list, or lists a non-string.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body or "")
    except ValueError as exc:
        raise ValueError(f"list_workers answer is not JSON: {(body or '')[:200]!r}") from exc
    if not isinstance(data, dict) or "urls" not in data:
        raise ValueError(f"list_workers answer has no 'urls' key: {(body or '')[:200]!r}")
    urls = data["urls"]
    if not isinstance(urls, list):
        raise ValueError(f"list_workers 'urls' is not a list but {type(urls).__name__}")
    for url in urls:
        if not isinstance(url, str):
            raise ValueError(f"list_workers 'urls' holds a {type(url).__name__}, not a URL: {url!r}")
    return list(urls)


def membership_changes(
    current: list[str], present: list[str], absent: list[str], exclusive: bool = False
) -> tuple[list[str], list[str]]:
    """``(to_add, to_remove)`` so that every ``present`` URL is a member and no ``absent`` URL is.

    With ``exclusive``, every member not in ``present`` is removed too. URLs are compared normalized
    (``normalize_url``); ``to_add`` holds normalized URLs, ``to_remove`` the members as the router spells them
    (so ``remove_worker`` matches). Both are sorted. ValueError for a URL in both ``present`` and ``absent``.
    """
    present_norm = {normalize_url(url) for url in present}
    absent_norm = {normalize_url(url) for url in absent}
    both = sorted(present_norm & absent_norm)
    if both:
        raise ValueError(f"worker urls cannot be both present and absent: {', '.join(both)}")
    current_norm = {normalize_url(url) for url in current}
    to_add = sorted(present_norm - current_norm)
    to_remove = sorted(
        {
            url
            for url in current
            if normalize_url(url) in absent_norm or (exclusive and normalize_url(url) not in present_norm)
        }
    )
    return to_add, to_remove


def workers_env(urls: list[str], variable: str = DEFAULT_VARIABLE) -> str:
    """A systemd EnvironmentFile holding the worker list, e.g. ``ATLAS_ROUTER_WORKERS="http://a:8000 http://b:8000"``.

    URLs are normalized, deduplicated and sorted, so the same membership always gives the same text. ValueError for
    an invalid variable name or a URL with whitespace, quotes, backslashes, ``$`` or backticks.
    """
    if not _VARIABLE_RE.match(variable or ""):
        raise ValueError(f"environment variable name {variable!r} is not valid")
    normalized = set()
    for url in urls:
        if _UNSAFE_RE.search(url.strip()):
            raise ValueError(f"worker url {url!r} contains whitespace, quotes, a backslash, '$' or '`'")
        normalized.add(normalize_url(url))
    return (
        "# Managed by Ansible (atlas.vllm.vllm_router_workers): the router's workers, read when the router starts.\n"
        f'{variable}="{" ".join(sorted(normalized))}"\n'
    )


def parse_workers_env(text: str, variable: str = DEFAULT_VARIABLE) -> list[str]:
    """The URLs of ``variable`` in an EnvironmentFile written by ``workers_env`` (the last assignment wins).

    Comments and other variables are skipped; a missing variable or empty text gives ``[]``.
    """
    value: str | None = None
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        name, sep, rest = stripped.partition("=")
        if sep and name.strip() == variable:
            value = rest.strip()
    if value is None:
        return []
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.split()


def workers_env_matches(text: str | None, urls: list[str], variable: str = DEFAULT_VARIABLE) -> bool:
    """Whether an EnvironmentFile's ``text`` already assigns ``variable`` exactly the workers ``urls``.

    Compared as normalized sets, so comments, quoting and order do not matter; None (no file) or text without the
    assignment never matches.
    """
    if text is None:
        return False
    assigned = any(
        line.strip().partition("=")[0].strip() == variable and "=" in line
        for line in text.splitlines()
        if not line.strip().startswith(("#", ";"))
    )
    if not assigned:
        return False
    try:
        listed = {normalize_url(url) for url in parse_workers_env(text, variable)}
    except ValueError:
        return False
    return listed == {normalize_url(url) for url in urls}


def describe(urls: list[str]) -> str:
    """``a, b`` or ``none`` for messages."""
    return ", ".join(urls) if urls else "none"


def predicted_members(current: list[str], to_add: list[str], to_remove: list[str]) -> list[str]:
    """Sorted normalized membership after removing ``to_remove`` and adding ``to_add`` (for check mode)."""
    removed = {normalize_url(url) for url in to_remove}
    members = {normalize_url(url) for url in current} - removed
    return sorted(members | {normalize_url(url) for url in to_add})


def missing_and_extra(final: list[str], present: list[str], absent: list[str]) -> dict[str, Any]:
    """``{"missing": present URLs not members, "still_there": absent URLs still members}``, normalized."""
    members = {normalize_url(url) for url in final}
    return {
        "missing": sorted({normalize_url(url) for url in present} - members),
        "still_there": sorted({normalize_url(url) for url in absent} & members),
    }

# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Remove secrets from what the collection records or shows: stage records, reports, container changes.

``redact(value, secrets)`` drops every value whose key names a secret and scrubs, from every string, the given
secret values, URL user info, secret ``NAME=VALUE`` pairs, ``--api-key VALUE`` and bearer tokens.
"""

from __future__ import annotations

import re
from typing import Any

# A key that is a secret's name, whole or as its last part (vllm_api_key, hf_token, X-Api-Key), not one that only
# contains such a word (prompt_tokens, total_tokens are counts).
_SECRET_KEY = re.compile(r"(^|[_.-])(api[_-]?key|token|password|passwd|secret|authorization|credentials?)$",
                         re.IGNORECASE)
# Inside values: user info in a URL, NAME=VALUE where NAME is a secret's name, and bearer tokens.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s@:]+(:[^/\s@]*)?@", re.IGNORECASE)
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<name>\b[\w.-]*(?:api[_-]?key|token|password|passwd|secret|authorization|credentials?))"
    r"(?P<sep>\s*[=:]\s*['\"]?)(?P<value>[^\s,;'\"}\]]+)", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A command line's --api-key VALUE (or --api-key=VALUE).
_SECRET_FLAG = re.compile(r"(--[\w-]*(?:api-key|token|password|secret))(\s+|=)(?!<redacted>)(\S+)", re.IGNORECASE)
REDACTED = "<redacted>"


def redact_text(text: str) -> str:
    """A string with URL user info, secret NAME=VALUE pairs and bearer tokens replaced by <redacted>."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_FLAG.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)


# A secret's value shorter than this is matched by its name only: scrubbing "1" or "on" out of every text would
# destroy the record without protecting anything.
MIN_SECRET_VALUE = 6


def _secret_values(secrets: Any) -> list[str]:
    """Every string leaf of the given values (a key, or a list of client keys), longest first."""
    if isinstance(secrets, dict):
        found = [leaf for item in secrets.values() for leaf in _secret_values(item)]
    elif isinstance(secrets, (list, tuple)):
        found = [leaf for item in secrets for leaf in _secret_values(item)]
    else:
        found = [str(secrets)] if isinstance(secrets, str) and len(secrets) >= MIN_SECRET_VALUE else []
    return sorted(set(found), key=len, reverse=True)


def redact(value: Any, secrets: Any = None) -> Any:
    """Drop every value whose key names a secret and scrub secrets out of strings, at any depth: no record or
    report may carry one. ``secrets``: the values of the settings the specs declare secret
    (``query('atlas.vllm.role_options', secret=true)``), removed wherever they appear whatever the key."""
    return _redact(value, _secret_values(secrets))


def _redact(value: Any, known: list[str]) -> Any:
    if isinstance(value, dict):
        return {key: (REDACTED if _SECRET_KEY.search(str(key)) else _redact(item, known))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, known) for item in value]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return redact_text(value)
    return value

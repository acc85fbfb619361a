# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The locked fleet endpoint: client keys, certificate names and expiry.

``{{ vllm_gateway_clients | atlas.vllm.gateway_client_errors(min_length, host) }}`` -> problems, never a key
``{{ names | atlas.vllm.gateway_subject_alt_names }}``     -> ``['DNS:gw-01', 'IP:10.0.0.201', ...]``
``{{ info.not_after | atlas.vllm.tls_expiry(warn_days) }}`` -> ``{verdict, days_left, not_after}``
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import DIGITS_OK, spec_value

# A client name ends up in access logs and in the proxy configuration: a plain identifier.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# Bearer keys are RFC 6750 token68 strings, so they need no quoting anywhere they are written.
_KEY = re.compile(r"^[A-Za-z0-9._~+/-]+=*$")


def gateway_client_errors(clients: Any, min_length: int = 32, host: str = "?") -> list[str]:
    """What is wrong with ``vllm_gateway_clients`` ({name: key}); messages name clients, never keys."""
    try:
        # As the role's argument validation reads it: -e gives "32".
        min_length = spec_value(min_length, "int")
    except (TypeError, ValueError):
        return [f"{host}: vllm_gateway_key_min_length is {min_length!r}; it must be a whole number, e.g. 32 "
                f"{DIGITS_OK}"]
    prefix = f"{host}: vllm_gateway_clients"
    if clients is None or clients == {}:
        return [f"{prefix} is empty; every request would be refused. Give each client a name and a key of at least "
                f"{min_length} characters, e.g. vllm_gateway_clients: {{team_a: \"{{{{ vault_team_a_key }}}}\"}}"]
    if not isinstance(clients, dict):
        return [f"{prefix} must be a mapping of client name to key, not a {type(clients).__name__}"]
    errors = []
    owners: dict[str, list[str]] = {}
    for name, key in clients.items():
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(f"{prefix}: client name {name!r} is not a plain identifier (a letter, then letters, "
                          "digits, '_' or '-', at most 64); rename it")
            continue
        if not isinstance(key, str) or not key:
            errors.append(f"{prefix}.{name}: the key is empty or not a string; set it (vault it)")
            continue
        if len(key) < min_length:
            errors.append(f"{prefix}.{name}: the key has {len(key)} characters, fewer than "
                          f"vllm_gateway_key_min_length ({min_length}); generate a longer one "
                          "(openssl rand -hex 32)")
        if not _KEY.match(key):
            errors.append(f"{prefix}.{name}: the key holds characters a bearer token cannot (allowed: letters, digits "
                          "and . _ ~ + / -, '=' only at the end); generate one with openssl rand -hex 32")
        owners.setdefault(key, []).append(name)
    for names in owners.values():
        if len(names) > 1:
            errors.append(f"{prefix}: clients {', '.join(sorted(names))} share one key; each client needs its own, "
                          "so that one can be revoked without the others")
    return errors


def gateway_subject_alt_names(names: list[Any]) -> list[str]:
    """subjectAltName entries for the given host names and addresses, in order, without repeats."""
    entries: list[str] = []
    for name in names:
        text = str(name or "").strip()
        if not text:
            continue
        try:
            entry = f"IP:{ipaddress.ip_address(text)}"
        except ValueError:
            entry = f"DNS:{text}"
        if entry not in entries:
            entries.append(entry)
    return entries


def tls_expiry(not_after: str, warn_days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Verdict on a certificate's ``not_after`` (ASN.1 time, ``20270101000000Z``, as x509_certificate_info gives)."""
    try:
        expires = datetime.strptime(str(not_after), "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise AnsibleFilterError(f"tls_expiry: {not_after!r} is not an ASN.1 time (YYYYMMDDhhmmssZ)") from exc
    try:
        warn_days = spec_value(warn_days, "int")
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"tls_expiry: warn_days is {warn_days!r}, not a whole number of days") from exc
    now = now or datetime.now(timezone.utc)
    seconds = (expires - now).total_seconds()
    days_left = int(seconds // 86400)
    verdict = "CRITICAL" if seconds <= 0 else "WARNING" if days_left < warn_days else "OK"
    return {"verdict": verdict, "days_left": days_left, "not_after": expires.isoformat()}


class FilterModule:
    def filters(self) -> dict:
        return {"gateway_client_errors": gateway_client_errors,
                "gateway_subject_alt_names": gateway_subject_alt_names, "tls_expiry": tls_expiry}

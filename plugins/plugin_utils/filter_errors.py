# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Filters over pure module_utils decisions: their input errors become task errors that name the input."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError


def as_filter(function: Callable[..., Any], errors: tuple[type[Exception], ...] = (ValueError,)) -> Callable[..., Any]:
    """``function`` with ``errors`` (ValueError and its subclasses by default) raised as AnsibleFilterError."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except errors as error:
            raise AnsibleFilterError(str(error)) from error

    return wrapped

# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Write one stage's result of one node to the controller's results directory (documentation:
plugins/modules/fleet_record.py).

A controller-side action: it needs no connection to the node, so recording costs one task and no module run.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible_collections.atlas.vllm.plugins.module_utils.fleet_records import record_document
from ansible_collections.atlas.vllm.plugins.modules.fleet_record import ARGUMENT_SPEC
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import secret_options


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            return {**result, "failed": True, "msg": "; ".join(validation.error_messages)}
        args = validation.validated_parameters
        host = args["host"] or task_vars.get("inventory_hostname")
        # The values of the settings the roles' specs declare secret (no_log), as this host sees them.
        secrets = lookup_loader.get("ansible.builtin.vars", loader=self._loader, templar=self._templar).run(
            secret_options(), variables=task_vars, default="")
        document = record_document(host, args["stage"], args["data"], secrets,
                                   datetime.datetime.now(datetime.timezone.utc).isoformat())
        path = os.path.join(args["dir"], host, f"{args['stage']}.json")
        try:
            write_private(path, json.dumps(document, indent=4, sort_keys=True) + "\n")
        except OSError as error:
            return {**result, "failed": True, "msg": f"cannot write the record {path}: {error}"}
        # Bookkeeping on the controller: the node is not changed, so a nightly re-run stays at changed=0.
        return {**result, "changed": False, "path": path}


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only, making its directory (0700)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".record-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise

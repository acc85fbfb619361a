from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.aisbench_jobs import aisbench_job_ids, aisbench_job_pids

WORK = "/opt/aisbench/outputs/vllm-0"
# `ps -eo pid=,sid=,args=` on a node with an abandoned evaluation of vllm-0 (session 4101: the async wrapper, the
# command module and AISBench), a live one of vllm-1, and an operator's shell that merely mentions the path.
PS = [
    "      1       1 /sbin/init",
    "      2       0 [kthreadd]",
    "    812     812 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    # async_wrapper's watcher and the fork that runs the module keep its command line; then the module.
    "   4101    4101 /usr/bin/python3 /root/.ansible/tmp/ansible-tmp-1/AnsiballZ_async_wrapper.py j48213077125 3600 "
    "/root/.ansible/tmp/ansible-tmp-1/AnsiballZ_command.py _",
    "   4102    4101 /usr/bin/python3 /root/.ansible/tmp/ansible-tmp-1/AnsiballZ_async_wrapper.py j48213077125 3600 "
    "/root/.ansible/tmp/ansible-tmp-1/AnsiballZ_command.py _",
    "   4105    4101 /usr/bin/python3 /root/.ansible/tmp/ansible-tmp-1/AnsiballZ_command.py",
    f"   4107    4101 /opt/aisbench/venv/bin/python3 /opt/aisbench/venv/bin/ais_bench --models vllm_api_general_chat "
    f"--datasets textvqa_gen_base64 --mode all --work-dir {WORK}/run-20261204T230102Z",
    "   4110    4101 /opt/aisbench/venv/bin/python3 -m ais_bench.benchmark.tasks.openicl_infer tmp/4107_params.py",
    "   5201    5201 /usr/bin/python3 /root/.ansible/tmp/ansible-tmp-2/AnsiballZ_async_wrapper.py j90000000001 3600 "
    "/root/.ansible/tmp/ansible-tmp-2/AnsiballZ_command.py _",
    "   5203    5201 /opt/aisbench/venv/bin/ais_bench --mode all --work-dir /opt/aisbench/outputs/vllm-1/run-x",
    f"   6001    6001 less {WORK}/run-20261204T230102Z/logs/infer.log",
    f"   6002    6001 vim --work-dir {WORK}",
]


def test_every_process_of_the_abandoned_evaluation_session_is_named() -> None:
    assert aisbench_job_pids(PS, WORK) == ["4101", "4102", "4105", "4107", "4110"]
    # The older layout wrote straight into the instance's directory; a trailing slash changes nothing.
    old = ["  300   300 /opt/aisbench/venv/bin/ais_bench --mode all --work-dir=/opt/aisbench/outputs/vllm-0"]
    assert aisbench_job_pids(old, WORK + "/") == ["300"]


def test_the_job_id_is_read_from_its_async_wrapper_once() -> None:
    assert aisbench_job_ids(PS, WORK) == ["j48213077125"]
    assert aisbench_job_ids(PS, "/opt/aisbench/outputs/vllm-1") == ["j90000000001"]
    # A run started by hand, without Ansible, has no job record to remove.
    assert aisbench_job_ids(["  9  9 ais_bench --work-dir /opt/aisbench/outputs/vllm-0"], WORK) == []


def test_another_instance_a_prefix_and_a_quiet_node_are_left_alone() -> None:
    assert aisbench_job_pids(PS, "/opt/aisbench/outputs/vllm-2") == []
    # vllm-0 is not a prefix of vllm-00.
    assert aisbench_job_pids(["  7  7 ais_bench --work-dir /opt/aisbench/outputs/vllm-00/run-1"], WORK) == []
    assert aisbench_job_pids([], WORK) == []


def test_a_relative_work_dir_is_refused() -> None:
    for job_filter in (aisbench_job_pids, aisbench_job_ids):
        with pytest.raises(AnsibleFilterError, match="absolute"):
            job_filter(PS, "outputs/vllm-0")

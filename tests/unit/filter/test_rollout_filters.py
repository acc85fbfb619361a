"""The rollout filters refuse a bad atlas_rolling_batch naming the variable and the value."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.rollout import rolling_batch_error, rolling_batch_size


def test_batch_size_resolves_counts_and_percentages() -> None:
    assert rolling_batch_size("50%", 4) == 2
    assert rolling_batch_size(1, "4") == 1


@pytest.mark.parametrize("value", [0, 5, "two", "0%", "150%", True])
def test_bad_batch_sizes_name_the_variable_and_the_value(value: object) -> None:
    message = rolling_batch_error(value, 4)
    assert message is not None and message.startswith(f"atlas_rolling_batch is {value!r}; ")
    assert "from 1 to 4" in message
    with pytest.raises(AnsibleFilterError, match="atlas_rolling_batch is"):
        rolling_batch_size(value, 4)
    assert rolling_batch_error("25%", 4) is None

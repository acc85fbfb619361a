"""What the simulated exporter says and does before it serves: the early stops of the real main()."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from atlas_sim.image.npu_exporter.main import main
from npu_exporter_support import ExporterNode

LOG_LINE = re.compile(r"^\[(INFO|WARN|ERROR)\] +\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} \d+ +(\S+)    (.*)$")


def run(argv: list[str], environ: dict[str, str] | None = None, sleeps: list[float] | None = None):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, environ=environ or {}, stdout=stdout, stderr=stderr, program="npu-exporter",
                sleep=(sleeps if sleeps is not None else []).append)
    return code, stdout.getvalue(), stderr.getvalue()


def logged(stdout: str) -> list[tuple[str, str, str]]:
    matches = [LOG_LINE.match(line) for line in stdout.splitlines()]
    assert all(matches), stdout
    return [(m.group(1), m.group(2), m.group(3)) for m in matches if m]


def test_no_device_waits_for_the_reset_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The container got /dev/davinci_manager but no /dev/davinciN: dcmi reports no card.
    node = ExporterNode(tmp_path / "node", monkeypatch, visible=[])
    sleeps: list[float] = []
    code, stdout, _ = run(["-ip=127.0.0.1", f"-logFile={tmp_path / 'e.log'}"], node.environ, sleeps)
    assert code == 0
    assert sleeps == [10] * 6
    lines = logged(stdout)
    retries = [line for line in lines if line[1] == "devmanager/devmanager.go:144"]
    assert [r[2] for r in retries][0] == (
        "deviceManager get card list failed (attempt 1), cardNum=-1, cardList=[], err: get error card quantity: 0"
    )
    assert len(retries) == 7
    assert lines[-6:] == [
        ("WARN", "devmanager/devmanager.go:144",
         "deviceManager get card list failed (attempt 7), cardNum=-1, cardList=[], err: get error card quantity: 0"),
        ("WARN", "devmanager/devmanager.go:155",
         "deviceManager get cardList is [], but cardNum is -1, please check whether the real number of npu matches "
         "the cardList"),
        ("INFO", "devmanager/devmanager.go:165", "the dcmi version is 25.2.0"),
        ("ERROR", "devmanager/devmanager.go:272", "get error card quantity: 0"),
        ("ERROR", "devmanager/devmanager.go:256", "get card list failed for init"),
        ("ERROR", "npu-exporter/main.go:126",
         "new npu collector failed, error is auto init failed, err: get card list failed for init"),
    ]


def test_short_reset_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = ExporterNode(tmp_path / "node", monkeypatch, visible=[])
    sleeps: list[float] = []
    run(["-ip=127.0.0.1", "-deviceResetTimeout=15", f"-logFile={tmp_path / 'e.log'}"], node.environ, sleeps)
    assert sleeps == [10, 5]


def test_port_range_is_checked_before_the_address_and_the_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = ExporterNode(tmp_path / "node", monkeypatch)
    code, stdout, _ = run(["-ip=::ffff:127.0.0.1", "-port=1", f"-logFile={tmp_path / 'e.log'}"], node.environ)
    assert code == 0
    assert [line[2] for line in logged(stdout)] == ["e.log's logger init success", "the port is invalid"]


def test_platform_and_logger_errors(tmp_path: Path) -> None:
    assert run(["-platform=prometheus"]) == (0, "", "platform is not supported:prometheus")
    code, stdout, stderr = run(["-maxAge=3", f"-logFile={tmp_path / 'e.log'}"])
    assert (code, stdout, stderr) == (0, "hwlog init failed, error is the maxage of backup logs range is [7,700]\n",
                                      "the maxage of backup logs range is [7,700]")
    code, stdout, _ = run([f"-logFile={tmp_path}/../x.log"])
    assert stdout == "hwlog init failed, error is log path include invalid char\n"


def test_log_directory_and_file_modes(tmp_path: Path) -> None:
    log_file = tmp_path / "mindx-dl" / "npu-exporter" / "npu-exporter.log"
    code, stdout, _ = run([f"-logFile={log_file}"])
    assert code == 0
    assert oct(log_file.parent.stat().st_mode & 0o777) == "0o750"
    assert oct(log_file.stat().st_mode & 0o777) == "0o640"
    assert log_file.read_text(encoding="utf-8") == stdout
    assert [line[2] for line in logged(stdout)] == ["npu-exporter.log's logger init success",
                                                    "the listen ip is invalid"]


def test_log_level_filters_lines(tmp_path: Path) -> None:
    code, stdout, _ = run(["-logLevel=2", f"-logFile={tmp_path / 'e.log'}"])
    assert code == 0
    assert logged(stdout) == [("ERROR", "npu-exporter/main.go:188", "the listen ip is invalid")]

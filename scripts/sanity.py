"""make sanity: ansible-test sanity on the collection as it is shipped, without internet access.

    .venv/bin/python scripts/sanity.py                 # every sanity test that applies
    .venv/bin/python scripts/sanity.py --test pep8     # one of them (ansible-test sanity --list-tests)

ansible-test wants the collection under .../ansible_collections/atlas/vllm, and inside a git checkout it tests
only the files git lists, so the built artifact is installed in a temporary directory outside this checkout
(which also tests only what users get).
Each sanity test runs in a virtualenv ansible-test makes; it fills them with pip, which it bootstraps with a
script downloaded from ci-files.testing.ansible.com. That host is not reachable from every machine that runs
the tests, while the package index is: the script ansible-test finds in its cache here installs the pip that
ships with Python (ensurepip) and lets it install the requested pip from the configured index. ansible-test runs
pip with only PATH and HOME from the environment, so the pip settings in effect here (index, certificates,
proxy, whether from files or PIP_* variables) are written to the pip.conf of the HOME it gets.

tests/sanity/ (not shipped) holds the ignore file ansible-test reads; it is copied into the installed collection.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
# Molecule and ansible-test write ~/.ansible; the scratch HOME of make test keeps that out of the operator's.
HOME = REPO / "build" / "home"

PIP_BOOTSTRAP = '''"""Stand-in for ansible-test's get-pip script, written by scripts/sanity.py: pip from ensurepip,
then pip installs what the bootstrap was asked for from the configured package index."""
import runpy
import subprocess
import sys

# In a child process: ensurepip turns pip's configuration off in the process that runs it.
subprocess.run([sys.executable, "-m", "ensurepip"], check=True)
# get-pip's own options; pip install does not take them.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")
sys.argv = ["pip", "install", *(arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY)]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def say(message: str) -> None:
    print(f"[sanity] {message}", flush=True)


def pip_version() -> str:
    """The pip version this ansible-test bootstraps (its infrastructure pin)."""
    import ansible_test  # noqa: PLC0415 - only to find its files

    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    match = re.search(r"pip='(\d+(?:\.\d+)+)'", source)
    if not match:
        raise SystemExit("cannot find the pip version ansible-test bootstraps in its python_requirements.py")
    return match.group(1)


def pip_settings() -> str:
    """The pip settings in effect for this run, as the [global] section of a pip.conf."""
    listed = subprocess.run([BIN / "pip", "config", "list"], check=True, capture_output=True, text=True).stdout
    settings = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        # "global.cert='...'" from a file, ":env:.cert='...'" from PIP_CERT; the variable wins, as in pip.
        settings.setdefault(key.rsplit(".", 1)[-1], value.strip("'"))
        if key.startswith(":env:"):
            settings[key.rsplit(".", 1)[-1]] = value.strip("'")
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if proxy and "proxy" not in settings:
        settings["proxy"] = proxy
    return "[global]\n" + "".join(f"{key} = {value}\n" for key, value in sorted(settings.items()))


def install_collection(work: Path) -> Path:
    (work / "dist").mkdir(parents=True)
    say("building the collection artifact")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "dist"], cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL)
    (artifact,) = (work / "dist").glob("atlas-vllm-*.tar.gz")
    say(f"installing {artifact.name} in {work}")
    # Only this tree on the path: the checkout is linked as atlas.vllm in .venv/collections.
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", artifact, "-p", work, "--no-deps"],
                   env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(work)}, check=True, stdout=subprocess.DEVNULL)
    collection = work / "ansible_collections" / "atlas" / "vllm"
    shutil.copytree(REPO / "tests" / "sanity", collection / "tests" / "sanity")
    return collection


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="append", default=[], help="run only this sanity test (repeatable)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="atlas-vllm-sanity-"))
    try:
        return run_sanity(install_collection(work), args.test)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_sanity(collection: Path, tests: list[str]) -> int:
    bootstrap = HOME / ".ansible" / "test" / "cache" / f"get_pip_{pip_version().replace('.', '_')}.py"
    bootstrap.parent.mkdir(parents=True, exist_ok=True)
    bootstrap.write_text(PIP_BOOTSTRAP)
    pip_conf = HOME / ".config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text(pip_settings())
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    argv = [str(BIN / "ansible-test"), "sanity", "--python", python, "--color", "no"]
    for test in tests:
        argv += ["--test", test]
    say(f"ansible-test sanity on Python {python} (first run: each test's virtualenv is filled from the index)")
    result = subprocess.run(argv, cwd=collection, env={**os.environ, "HOME": str(HOME)}, check=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

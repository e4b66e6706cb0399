"""Run the whole test suite: ``python3 tests/run_all.py [pytest args]``.

Before pytest starts, the browser tests' one system dependency is made available: Debian's ``chromium``
package is installed with apt-get when it is missing and this runs as root. Elsewhere the browser tests are
skipped with a printed reason, except under ``CI=true``, where they must run (conftest.py enforces it).
The exit code is pytest's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"run_all: {CHROMIUM} is missing and cannot be installed here (needs root and apt-get); "
              "browser tests will be skipped", file=sys.stderr)
        return
    print("run_all: installing Debian's chromium for the browser tests", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"],
                   check=True, env=env)


def main(argv: list[str]) -> int:
    ensure_chromium()
    import pytest

    args = [str(HERE), "-p", "no:cacheprovider", "--timeout=900", "--durations=15", *argv]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

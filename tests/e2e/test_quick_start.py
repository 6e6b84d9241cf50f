"""The README's "Run it for your organisation", run as written: its five commands in one
shell (as a person pastes them), a real server in the background, on SQLite and PostgreSQL;
then its `curl` line, and the fifth command again."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import STARTUP_SECONDS, free_port

pytestmark = pytest.mark.slow

SECTION = "## Run it for your organisation"
BIN = Path(sys.executable).parent


def readme_blocks() -> list[str]:
    """The section's `sh` blocks, as written."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) : readme.index("\n## ", readme.index(SECTION) + 1)]
    return re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)


def test_the_section_has_five_commands() -> None:
    commands, curl = readme_blocks()
    lines = commands.strip().splitlines()
    assert len(lines) == 5 and all(
        line.startswith(".venv/bin/lmsplans") or "$(.venv" in line for line in lines
    )
    assert curl.startswith("curl ")


WAIT_FOR_SERVER = f"""\
"$PYTHON" - <<'PY'
import os, time, httpx
deadline = time.monotonic() + {STARTUP_SECONDS}
while True:
    try:
        if httpx.get(os.environ["LMSPLANS_BASE_URL"] + "/healthz", timeout=1).status_code == 200:
            break
    except httpx.TransportError:
        pass
    if time.monotonic() > deadline:
        raise SystemExit("the server did not start")
    time.sleep(0.1)
PY
"""


def script(tmp_path: Path) -> str:
    """The README's commands in one shell; each one's output kept (`tee`), the server
    waited for as the README says, then the `curl` line with the course step 3 printed."""
    commands, curl = (
        block.replace(".venv/bin/", f"{shlex.quote(str(BIN))}/") for block in readme_blocks()
    )
    first, learners, plans, serve, progress = commands.strip().splitlines()
    assert serve.endswith(" &")
    out = tmp_path
    return "\n".join(
        [
            "set -euo pipefail",
            first,
            f"{learners} | tee {out}/step2.out",
            f"{plans} | tee {out}/step3.out",
            serve,
            "server=$!",
            'trap \'kill "$server"; wait "$server" || true\' EXIT',
            WAIT_FOR_SERVER,
            f"{progress} | tee {out}/step5.out",
            f"COURSE=$(sed -n 's/.*Code of Conduct  *\\([0-9][0-9]*\\) .*/\\1/p' {out}/step3.out)",
            'test -n "$COURSE"',
            f"{curl.strip()} > {out}/curl.out",
            f"{progress} | tee {out}/step5-again.out",
        ]
    )


def test_run_it_for_your_organisation(database_url: str, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the README's curl line needs curl, which is not installed here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    env.update(
        LMSPLANS_DATABASE_URL=database_url,
        LMSPLANS_PORT=str(free_port()),
        LMSPLANS_LOG_LEVEL="warning",
        LMSPLANS_ACCESS_LOG="false",
        LMSPLANS_PACING_STATE="off",
        PYTHON=sys.executable,
        NO_COLOR="1",
        COLUMNS="200",
    )
    run = subprocess.run(  # noqa: S603 - bash running the README's own commands
        ["bash", "-c", script(tmp_path)],  # noqa: S607
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    # Step 1 showed the client and the link (on stderr: stdout went to the shell).
    assert "Self client created" in run.stderr and "/ui/sign-in/" in run.stderr
    step2 = (tmp_path / "step2.out").read_text().strip().splitlines()[-1]
    assert re.match(r"8 learners in learners\.csv: 7 created, 1 updated, 0 unchanged", step2)
    step3 = (tmp_path / "step3.out").read_text().strip().splitlines()[-1]
    assert re.match(r"6 courses and plans in plans\.yaml: 6 created", step3)
    before = (tmp_path / "step5.out").read_text()
    assert "Learning plans of ana.lima@newbie.example" in before
    onboarding = [line for line in before.splitlines() if "New Joiner Onboarding" in line]
    assert onboarding and "not started" in onboarding[0] and "0%" in onboarding[0]
    assert '"completionStatus":"completed"' in (tmp_path / "curl.out").read_text().replace(" ", "")
    after = (tmp_path / "step5-again.out").read_text()
    onboarding = [line for line in after.splitlines() if "New Joiner Onboarding" in line]
    assert onboarding and "in progress" in onboarding[0] and "33%" in onboarding[0]

"""`lmsplans export` against real processes: the demo organisation's export time, and how close
a long per-learner export runs to the rate the server allows, through a SIGKILL and a resume.

Run from the repository root:

    .venv/bin/python bench/export.py                 # both parts (about 15 minutes)
    .venv/bin/python bench/export.py --part demo     # the demo export only (2 to 3 minutes)
    .venv/bin/python bench/export.py --part paced --minutes 10 --headroom 0

Part `demo`: `lmsplans demo --no-serve` (its organisation of 1,199 learners), `lmsplans serve`
with the default settings (30 calls a minute per API, a 5-minute lock), and `lmsplans export`
with the default settings, timed from start to end. Target: under 3 minutes.

Part `paced`: the same organisation and server; `lmsplans export --via learners` (one call
per learner, Zoho's way), SIGKILLed half way through `--minutes` of per-learner calls and run
again at once, then stopped (Ctrl-C) when the time is up. The reference endpoint's answers are
counted by the server itself (`/metrics`, read before the export starts and after it stops).
The allowed calls are the allowed call rate over the job's time: `threshold x seconds /
window`.
Target: at least 97% of them, and no 429. `--headroom` is the export's (default 0 here: the
headroom of one call a window that the command keeps by default for a person's manual call
would cap the job at 29 of 30 calls by design).

Every process is stopped at the end; the work directory is removed unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

LMSPLANS = Path(sys.executable).parent / "lmsplans"
REFERENCE = "/api/v1/learners/{learnerId}/learning-plans/progress"
ANSWERS = re.compile(
    r'^lmsplans_http_requests_total\{route="([^"]+)",status="(\d+)"\} (\S+)$', re.M
)
THRESHOLD, WINDOW = 30, 60.0  # the server's defaults


@contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The demo organisation served with the default settings: (base URL, admin token, the
    environment of the client commands, with a cache directory of their own)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    env.update(
        LMSPLANS_DATABASE_URL=f"sqlite:///{workdir / 'demo.db'}", LMSPLANS_LOG_LEVEL="warning"
    )
    creds = workdir / "credentials.json"
    subprocess.run(
        [str(LMSPLANS), "demo", "--no-serve", "--port", str(port), "--credentials-out", str(creds)],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [str(LMSPLANS), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the server did not start: see {workdir / 'server.log'}")
        client_env = {k: v for k, v in env.items() if not k.startswith("LMSPLANS_")}
        client_env.update(
            LMSPLANS_BASE_URL=base_url,
            LMSPLANS_ACCESS_TOKEN=json.loads(creds.read_text())["admin_token"],
            XDG_CACHE_HOME=str(workdir / "cache"),
            COLUMNS="120",
        )
        yield base_url, client_env["LMSPLANS_ACCESS_TOKEN"], client_env
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def answers(base_url: str, route: str | None = None) -> dict[int, int]:
    """The server's answers so far by status (of `route`, else of every /api route)."""
    counts: dict[int, int] = {}
    for found, status, count in ANSWERS.findall(httpx.get(f"{base_url}/metrics").text):
        if (route is None and found.startswith("/api/")) or found == route:
            counts[int(status)] = counts.get(int(status), 0) + int(float(count))
    return counts


def demo_part(workdir: Path) -> bool:
    with demo_server(workdir) as (base_url, _, env):
        out = workdir / "demo.csv"
        began = time.monotonic()
        run = subprocess.run(
            [str(LMSPLANS), "export", "--out", str(out)],
            env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - began
        counts = answers(base_url)
    said = [line for line in run.stderr.replace("\r", "\n").splitlines() if line.strip()][:2]
    print("demo export (default settings)")
    for line in said:
        print(f"  said: {line.strip()}")
    print(f"  {run.stdout.strip()}")
    print(f"  time {elapsed:.1f} s (target: under 180 s)")
    print(f"  API answers by status {counts} (429s: {counts.get(429, 0)})")
    return run.returncode == 0 and elapsed < 180 and not counts.get(429)


def header_of(state: Path) -> dict[str, object]:
    try:
        first = state.read_bytes().split(b"\n", 1)[0]
        value = json.loads(first) if first else {}
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def paced_part(workdir: Path, minutes: float, headroom: int) -> bool:
    seconds = minutes * 60
    with demo_server(workdir) as (base_url, _, env):
        out = workdir / "paced.csv"
        state = out.with_name(out.name + ".state")
        command = [str(LMSPLANS), "export", "--out", str(out), "--via", "learners",
                   "--headroom", str(headroom)]  # fmt: skip

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        before = answers(base_url, REFERENCE)  # before the export: its first burst is quick
        run = start()
        try:
            deadline = time.monotonic() + 600
            while "learners" not in header_of(state):  # the rosters are listed: calls begin
                if time.monotonic() > deadline or run.poll() is not None:
                    raise RuntimeError("the export did not list its learners")
                time.sleep(0.002)
            began = time.monotonic()
            time.sleep(seconds / 2)
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=10)
            killed_at = time.monotonic() - began
            run = start()  # at once
            time.sleep(max(0.0, began + seconds - time.monotonic()))
            elapsed = time.monotonic() - began
            run.send_signal(signal.SIGINT)  # Ctrl-C: the time is up
            run.wait(timeout=30)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
        after = answers(base_url, REFERENCE)
    made = after.get(200, 0) - before.get(200, 0)
    refused = after.get(429, 0) - before.get(429, 0)
    allowed = THRESHOLD * elapsed / WINDOW  # the allowed call rate, over the job's time
    learners = max(0, state.read_bytes().count(b"\n") - 1) if state.exists() else 0
    share = made / allowed
    print(f"per-learner export, {minutes:g} minutes at {THRESHOLD} calls a minute")
    print(f"  headroom {headroom}; SIGKILL at {killed_at:.1f} s, resumed at once")
    print(f"  reference calls answered {made} in {elapsed:.1f} s; allowed {allowed:.1f}")
    print(f"  learners exported (the journal) {learners}")
    print(f"  share of the allowed rate {share:.1%} (target: at least 97%)")
    print(f"  429s {refused}")
    return share >= 0.97 and refused == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("demo", "paced", "both"), default="both")
    parser.add_argument("--minutes", type=float, default=10.0, help="the paced job's length")
    parser.add_argument("--headroom", type=int, default=0, help="the paced export's headroom")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    # Started in the background, this process may ignore SIGINT, and its children would
    # inherit that: with a handler of its own, they start with the default, so Ctrl-C works.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not 1 <= args.minutes <= 30:
        parser.error("--minutes must be 1..30")
    workdir = Path(tempfile.mkdtemp(prefix="lmsplans-export-"))
    met = True
    try:
        if args.part in ("demo", "both"):
            met &= demo_part(workdir / "demo")
        if args.part in ("paced", "both"):
            met &= paced_part(workdir / "paced", args.minutes, args.headroom)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("targets met" if met else "a target was missed")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

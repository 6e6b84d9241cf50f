"""Pacing efficiency of `lmsplans.client`: how close a long job runs to the threshold.

Run from the repository root:

    .venv/bin/python bench/pacing.py [--threshold 30] [--window 2] [--windows 6]

It builds the demo organisation in a temporary directory (`lmsplans demo --no-serve`), starts
a real server process (`lmsplans serve`) whose limiter allows `--threshold` calls per
`--window` seconds with a `--lock` second lock, and makes `threshold x windows` calls to the
reference endpoint (`GET /api/v1/learners/{learnerId}/learning-plans/progress`, one learner
after another) through one `Client`, as fast as its governor allows. The client starts from
its Zoho default (30 calls in 60 s) and adopts the server's announced policy from the first
answer.

Efficiency = achieved calls per window / threshold, where the calls per window are the calls
made divided by the windows they took (from the first call to one window after the last
burst began; a perfect pacer makes `threshold` calls at the start of each window and scores
1.0). It also checks that no answer was a 429, by the client's count and by the server's own
(`/metrics`), and that no sliding window held more than the threshold. Exit status 1 if any
429 was seen. Bounded: about `window x windows` seconds plus a few seconds of set-up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from harness import (
    HOST,
    ROUTE,
    Server,
    clean_env,
    free_port,
    lmsplans_command,
    route_statuses,
    running,
)
from lmsplans.client import Client
from lmsplans.client.export import learners_from_rosters

API = f"GET {ROUTE}"


class Recorder(httpx.HTTPTransport):
    """The real transport, noting when each call to the reference endpoint left and how it
    was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[float, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = super().handle_request(request)
        if request.url.path.endswith("/learning-plans/progress"):
            self.calls.append((sent, response.status_code))
        return response


def max_in_any_window(times: list[float], window: float) -> int:
    best, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=int, default=30, help="calls per window")
    parser.add_argument("--window", type=float, default=2.0, help="window, in seconds")
    parser.add_argument("--lock", type=float, default=5.0, help="lock, in seconds")
    parser.add_argument("--windows", type=int, default=6, help="windows to fill (2..60)")
    parser.add_argument("--learners", type=int, default=300, help="demo organisation size")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not 2 <= args.windows <= 60 or args.threshold < 1 or args.window <= 0:
        parser.error("--windows must be 2..60, --threshold >= 1, --window > 0")

    workdir = Path(tempfile.mkdtemp(prefix="lmsplans-pacing-"))
    port = free_port()
    env = clean_env(
        LMSPLANS_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        LMSPLANS_LOG_LEVEL="warning",
        LMSPLANS_RATE_LIMIT_THRESHOLD=str(args.threshold),
        LMSPLANS_RATE_LIMIT_WINDOW_SECONDS=str(args.window),
        LMSPLANS_RATE_LIMIT_LOCK_SECONDS=str(args.lock),
    )
    creds_file = workdir / "credentials.json"
    lmsplans = lmsplans_command()
    subprocess.run(
        [*lmsplans, "demo", "--no-serve", "--port", str(port), "--learners",
         str(args.learners), "--credentials-out", str(creds_file)],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    creds = json.loads(creds_file.read_text())
    command = [*lmsplans, "serve", "--port", str(port)]
    server = Server("lmsplans serve", command, env, workdir / "server.log")
    base_url = f"http://{HOST}:{port}"
    try:
        with running(server, f"{base_url}/healthz"):
            recorder = Recorder()
            with Client(base_url=base_url, access_token=creds["admin_token"]) as lister:
                learners = learners_from_rosters(lister)
            total = args.threshold * args.windows
            with Client(
                base_url=base_url, access_token=creds["admin_token"], transport=recorder
            ) as client:
                began = time.monotonic()
                for n in range(total):
                    client.learners.learning_plans_progress(learners[n % len(learners)]).to_list()
                elapsed = time.monotonic() - began
                stats = client.governor.stats(API)
            counted_429s = route_statuses(port).get("429", 0)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    sent = [t for t, _ in recorder.calls]
    statuses = [s for _, s in recorder.calls]
    client_429s = statuses.count(429)
    q, w = args.threshold, args.window
    # From the first call to one window after the last burst began: the windows used.
    last_burst = sent[(len(sent) - 1) // q * q]
    windows_used = (last_burst - sent[0]) / w + 1
    per_window = len(sent) / windows_used
    efficiency = per_window / q
    shortest = (len(sent) - 1) // q * w
    print(f"server policy           {q} calls / {w:g} s window, {args.lock:g} s lock")
    print(f"client adopted          {stats.threshold} calls / {stats.window_seconds:g} s")
    print(f"calls                   {len(sent)} in {elapsed:.2f} s (shortest possible "
          f"{shortest:.2f} s: {shortest / elapsed:.1%} of it)")  # fmt: skip
    print(f"most in any window      {max_in_any_window(sent, w)} (threshold {q})")
    print(f"429 answers             {client_429s} seen by the client, {counted_429s} counted "
          "by the server")  # fmt: skip
    print(f"calls per window        {per_window:.2f}")
    print(f"pacing efficiency       {efficiency:.1%} (calls per window / threshold)")
    return 1 if client_429s or counted_429s else 0


if __name__ == "__main__":
    sys.exit(main())

"""Property-based tests from the OpenAPI description: schemathesis against a real
`lmsplans serve` on loopback (the demo data, its admin token with ALL scope), every
operation.

The description must say what the server does: every answer a server error or not (never),
its status documented for the operation, its body valid against the documented schema, its
headers and content type the documented ones; a request the description calls invalid is
refused (4xx); a wrong method gets 405 with an `Allow` that names every method of the path.
And a refused request changes nothing: the change log (every committed write transaction
leaves a row) is the same before and after each answer of 400 or more.

A fixed seed and a bounded number of examples keep the run the same each time and inside
CI's time (about a minute). Hypothesis keeps no database and its caches in the test's folder,
schemathesis no cache: the run writes nothing into the checkout.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from tests.e2e.conftest import DemoSite, ServerProcess, load_demo, running_server

pytestmark = pytest.mark.slow

SEED = 20261207
# Examples per operation and phase (coverage cases come on top: one per boundary and
# negative case schemathesis derives from each schema, a few dozen an operation).
MAX_EXAMPLES = 12

CHECKS: dict[str, Any] = {
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
    # Schemathesis' own list, with the refusals of the limits too: a request line, header
    # fields or a body too large, or too slow (408, 413, 414, 431).
    "negative_data_rejection": {
        "enabled": True,
        "expected-statuses": [
            *(400, 401, 403, 404, 405, 406, 408, 409, 413, 414, 415, 422, 428, 429, 431),
        ],
    },
    "missing_required_header": {"enabled": True},
    "unsupported_method": {"enabled": True},
    "allow_header_conformance": {"enabled": True},
    "ignored_auth": {"enabled": True},
    # Off: a request valid by the schema may still break a rule that JSON Schema cannot
    # state, and is refused as it must be: a completion time in the future or before the
    # enrolment, the same course twice in a plan, a percentage that contradicts the status,
    # an id or email no learner has, a payload sent in both the query and the body.
    "positive_data_acceptance": {"enabled": False},
}


class Writes:
    """What the `refused_requests_write_nothing` check compares: the rows of the change log
    (every committed write transaction leaves at least one) of the database under test, as
    the last answer left it. Checks run one case at a time (one worker)."""

    database: Path | None = None
    version = 0

    @classmethod
    def current(cls) -> int:
        assert cls.database is not None
        with closing(sqlite3.connect(cls.database)) as conn:
            version: int = conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        return version


@schemathesis.check
def refused_requests_write_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    """Each answer of 400 or more left the data as it was (the requests the other checks
    send, without a token or with a wrong method, are all refused too)."""
    if Writes.database is None:  # another run of schemathesis: not ours to check
        return None
    now = Writes.current()
    wrote = now != Writes.version
    Writes.version = now
    if response.status_code >= 400 and wrote:
        raise AssertionError(f"answered {response.status_code}, and committed a write")
    return None


@dataclass
class Run:
    """What one schemathesis run did: operations, cases, failures, errors, time."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, event: Any) -> None:
        if isinstance(event, events.ScenarioFinished):
            if event.status is not Status.SKIP and event.label:
                self.operations.add(event.label)
            self.cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        self.failures.append(
                            f"{event.recorder.label} [{check.name}] {failure.title}: "
                            f"{failure.message}\n  {check.failure_info.code_sample}"
                            f"\n  (case {case_id})"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            self.errors.append(f"{getattr(event, 'label', '')}: {event.info.format()}")


@pytest.fixture(scope="module")
def fuzz_target(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DemoSite, ServerProcess]]:
    # The limiter is raised so far that the fuzzer, one admin making thousands of calls to
    # each API in a minute, is never locked out (tests/api/test_rate_limit.py tests it).
    # Nothing writes behind the check's back: webhooks the fuzzer registers are never sent
    # to (no deliverer runs), and no overdue sweep runs (it announces each enrolment that
    # falls overdue as real time passes, a write of its own: it made the check blame
    # whichever refused request came next); the key file goes in the test's own folder.
    root = tmp_path_factory.mktemp("fuzz")
    site = load_demo(
        root,
        env_extra={
            "LMSPLANS_RATE_LIMIT_THRESHOLD": "1000000000",
            "LMSPLANS_WEBHOOK_DELIVERY": "worker",
            "LMSPLANS_OVERDUE_SWEEP_SECONDS": "0",
            "LMSPLANS_DATA_DIR": str(root / "data"),
        },
    )
    # Hypothesis keeps caches (constants, Unicode data) in `.hypothesis/` of the working
    # directory: here they go to the test's own folder, not into the checkout.
    set_hypothesis_home_dir(site.root / "hypothesis")
    with running_server(
        site.env, port=site.port, log=site.root / "serve.log", startup_seconds=60
    ) as server:
        Writes.database, Writes.version = site.database, 0
        Writes.version = Writes.current()
        try:
            yield site, server
        finally:
            Writes.database = None
            set_hypothesis_home_dir(None)


def test_the_server_does_what_its_description_says(
    fuzz_target: tuple[DemoSite, ServerProcess],
) -> None:
    site, server = fuzz_target
    token = site.credentials["admin_token"]
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # no `.schemathesis/` in the working directory
            "headers": {"Authorization": f"Zoho-oauthtoken {token}"},
            "workers": 1,  # the write check reads the database between answers
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "checks": {**CHECKS, "refused_requests_write_nothing": {"enabled": True}},
            # Off: the stateful phase (chains of calls along the description's links) would
            # double the run's time; the hand-made write tests (tests/api) chain calls.
            "phases": {"stateful": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)
    run = Run()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        run.record(event)
    run.seconds = time.monotonic() - started
    print(
        f"schemathesis {schemathesis.__version__}: {len(run.operations)} operations, "
        f"{run.cases} cases, {len(run.failures)} failures, {len(run.errors)} errors "
        f"in {run.seconds:.1f} s (seed {SEED}, {MAX_EXAMPLES} examples an operation)"
    )
    described = len(schema.raw_schema.get("paths", {}))
    assert described and run.cases > 0
    assert not run.errors, "\n".join(run.errors)
    assert not run.failures, "\n\n".join(run.failures)

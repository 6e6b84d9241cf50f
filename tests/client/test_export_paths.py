"""The export's two ways, by plan rosters and one call per learner: the same rows and columns,
the calls each costs, the probe that chooses, and resuming each way."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lmsplans.client import Client
from lmsplans.client.export import COLUMN_NAMES, ExportError, export_plan_progress
from tests.client.conftest import DemoDatabase, LiveServer, RecordingTransport, expected_enrolments
from tests.client.test_export import StopAfter

MakeClient = Callable[..., Client]
ROSTER = "/learners"  # GET /api/v1/learning-plans/{planId}/learners
REFERENCE = "/learning-plans/progress"


def roster_sizes(demo_db: DemoDatabase) -> list[int]:
    """Learners on the roster of each published plan, read from the database itself."""
    with closing(sqlite3.connect(demo_db.path)) as conn:
        rows = conn.execute(
            """SELECT count(e.id) FROM learning_plans p
                 LEFT JOIN plan_enrolments e ON e.plan_id = p.id AND e.unenrolled_time IS NULL
                WHERE p.publish_state = 1 AND p.org_id = ? GROUP BY p.id""",
            (demo_db.people.org_id,),
        ).fetchall()
    return [int(count) for (count,) in rows]


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, sorted(rows)


def calls(transport: RecordingTransport, ending: str) -> int:
    return sum(1 for e in transport.log if e.path.endswith(ending) and "/learning-plans/" in e.path)


def test_both_ways_write_the_same_rows_and_rosters_cost_a_call_per_100_learners(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    files, transports = {}, {}
    for via in ("rosters", "learners"):
        transports[via] = RecordingTransport()
        client = make_client(
            base_url=open_server.url, access_token=demo_db.admin_token, transport=transports[via]
        )
        files[via] = tmp_path / f"{via}.csv"
        result = export_plan_progress(client, out=files[via], fmt="csv", via=via)
        assert result.via == via
        assert result.rows == len(expected_enrolments(demo_db))
    assert csv_rows(files["rosters"]) == csv_rows(files["learners"])
    header, rows = csv_rows(files["rosters"])
    assert header == COLUMN_NAMES and len(rows) == len(expected_enrolments(demo_db))
    assert {(row[1], row[3]) for row in rows} == expected_enrolments(demo_db)
    sizes = roster_sizes(demo_db)
    by_rosters = transports["rosters"]
    assert calls(by_rosters, ROSTER) == sum(max(1, math.ceil(n / 100)) for n in sizes)
    assert calls(by_rosters, REFERENCE) == 0
    learners = len({learner for learner, _ in expected_enrolments(demo_db)})
    assert calls(transports["learners"], REFERENCE) == learners > 200


class ZohoLikeRosters(RecordingTransport):
    """The real server's answers, with rosters shaped as Zoho documents them: no
    `progressInfo` (what the probe must notice)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not request.url.path.endswith(ROSTER):
            return response
        body = json.loads(response.read())
        for member in body.get("learners", []):
            member.pop("progressInfo", None)
        return httpx.Response(response.status_code, headers=response.headers, json=body)


def test_auto_reads_rosters_here_and_one_call_per_learner_where_rosters_carry_no_progress(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    seen: list[object] = []

    class Told:
        def describe(self, job: object) -> None:
            seen.append(job)

        def start(self, total: int, done: int) -> None:
            pass

        def advance(self, learner: str, rows: int) -> None:
            pass

    here = RecordingTransport()
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token, transport=here)
    result = export_plan_progress(client, out=tmp_path / "a.jsonl", fmt="jsonl", progress=Told())
    assert result.via == "rosters" and "rosters carry progress" in seen[-1].reason  # type: ignore[attr-defined]
    zoho = ZohoLikeRosters()
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token, transport=zoho)
    result = export_plan_progress(client, out=tmp_path / "b.jsonl", fmt="jsonl", progress=Told())
    assert result.via == "learners" and "no progress" in seen[-1].reason  # type: ignore[attr-defined]
    # The learners are listed from every roster, drafts' too; the probe's page is not read twice.
    drafts = sum(1 for plan in client.learning_plans.list() if not plan.is_published)
    assert calls(zoho, ROSTER) == calls(here, ROSTER) + drafts
    a = sorted(
        json.dumps(json.loads(line), sort_keys=True)
        for line in (tmp_path / "a.jsonl").read_text().splitlines()
    )
    b = sorted(
        json.dumps(json.loads(line), sort_keys=True)
        for line in (tmp_path / "b.jsonl").read_text().splitlines()
    )
    assert a == b


def test_a_roster_export_interrupted_resumes_the_same_way_exactly_once(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "progress.csv"
    state = out.with_name(out.name + ".state")
    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(client, out=out, fmt="csv", progress=StopAfter(3))
    journal = [json.loads(line) for line in state.read_text().splitlines()]
    assert journal[0]["via"] == "rosters" and [("plan" in e) for e in journal[1:]] == [True] * 3
    with out.open("ab") as data:
        data.write(b"100002000000040,half a row")  # the crash came in the middle of plan 4
    with pytest.raises(ExportError, match="via rosters"):
        export_plan_progress(client, out=out, fmt="csv", via="learners")
    transport = RecordingTransport()
    again = make_client(
        base_url=open_server.url, access_token=demo_db.admin_token, transport=transport
    )
    result = export_plan_progress(again, out=out, fmt="csv")
    assert result.via == "rosters" and result.resumed_from == 3
    assert result.exported == len(roster_sizes(demo_db)) - 3
    header, rows = csv_rows(out)
    assert header == COLUMN_NAMES
    keys = [(row[1], row[3]) for row in rows]
    assert len(keys) == len(set(keys)) and set(keys) == expected_enrolments(demo_db)
    assert result.learners == len({learner for learner, _ in expected_enrolments(demo_db)})
    assert calls(transport, REFERENCE) == 0


def test_a_resumed_export_by_learner_does_not_list_the_rosters_again(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "progress.jsonl"
    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(client, out=out, fmt="jsonl", via="learners", progress=StopAfter(10))
    transport = RecordingTransport()
    again = make_client(
        base_url=open_server.url, access_token=demo_db.admin_token, transport=transport
    )
    result = export_plan_progress(again, out=out, fmt="jsonl")
    assert result.via == "learners" and result.resumed_from == 10
    assert calls(transport, ROSTER) == 0  # the learners were kept in the journal
    assert calls(transport, REFERENCE) == result.exported == result.learners - 10
    keys = [
        (row["user_id"], row["plan_id"]) for row in map(json.loads, out.read_text().splitlines())
    ]
    assert len(keys) == len(set(keys)) and set(keys) == expected_enrolments(demo_db)


def test_a_learners_file_cannot_go_by_rosters(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    with pytest.raises(ExportError, match="--via rosters"):
        export_plan_progress(
            client, out=tmp_path / "x.csv", fmt="csv", learners=["a@b.example"], via="rosters"
        )
    with pytest.raises(ExportError, match="unknown way"):
        export_plan_progress(client, out=tmp_path / "y.csv", fmt="csv", via="sideways")
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()

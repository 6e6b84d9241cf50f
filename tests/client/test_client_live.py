"""The sync client against a real server on loopback: every page, typed records, errors."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC

import pytest

from lmsplans.client import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    Client,
    LearningPlanProgress,
    NotFoundError,
    PermissionDeniedError,
    RosterMember,
    ValidationError,
)
from tests.client.conftest import (
    REFERENCE_API,
    DemoDatabase,
    FaultyTransport,
    LiveServer,
    RecordingTransport,
    new_self_client,
)

MakeClient = Callable[..., Client]


@pytest.fixture
def admin(make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase) -> Client:
    return make_client(base_url=open_server.url, access_token=demo_db.admin_token)


def test_reference_endpoint_pages_match_one_page(admin: Client, demo_db: DemoDatabase) -> None:
    learner = demo_db.people.learner_id
    whole = admin.learners.learning_plans_progress(learner).to_list()
    pager = admin.learners.learning_plans_progress(learner, page_size=1)
    pages = list(pager.pages())
    assert len(whole) == 4
    assert [p.start_index for p in pages] == [0, 1, 2, 3]  # 0-based, spec section 3
    assert [p.is_next_available for p in pages] == [True, True, True, False]
    assert [e.raw for p in pages for e in p.items] == [e.raw for e in whole]
    assert len({e.plan_id for e in whole}) == 4


def test_records_are_typed_and_keep_the_raw_record(admin: Client, demo_db: DemoDatabase) -> None:
    entries = admin.learners.learning_plans_progress(demo_db.people.learner_id).to_list()
    entry = entries[0]
    assert isinstance(entry, LearningPlanProgress)
    assert entry.user_info.user_id == str(demo_db.people.learner_id)
    assert entry.plan_info.duration == int(entry.raw["planInfo"]["duration"])
    assert entry.plan_info.disabled is False and entry.raw["planInfo"]["disabled"] == "false"
    assert entry.plan_info.is_published
    created = entry.plan_info.created_time
    assert created is not None and created.tzinfo == UTC
    assert int(created.timestamp() * 1000) == int(entry.raw["planInfo"]["createdTime"])
    assert entry.progress_info is not None
    for e in entries:
        info = e.progress_info
        assert info is not None and isinstance(info.progress_percentage, int)
        assert (info.completed_time is None) == (e.raw["progressInfo"]["completedTime"] == "null")
        assert isinstance(info.is_overdue, bool)
    assert any(e.progress_info and e.progress_info.is_overdue for e in entries)
    assert any(e.user_info.is_user_completed_plan for e in entries)


def test_every_list_crosses_pages_and_returns_each_record_once(
    admin: Client, demo_db: DemoDatabase
) -> None:
    plans = admin.learning_plans.list(page_size=2).to_list()
    assert [p.raw for p in plans] == [p.raw for p in admin.learning_plans.list().to_list()]
    assert len(plans) == len({p.plan_id for p in plans}) == 9  # 8 published and a draft
    assert plans[0].image is not None and plans[0].image.is_system is True

    plan = plans[0]
    roster = admin.learning_plans.learners(plan.plan_id, page_size=7)
    pages = list(roster.pages())
    members = [m for p in pages for m in p.items]
    assert len(pages) > 3
    assert [p.start_index for p in pages] == [1 + 7 * i for i in range(len(pages))]  # 1-based
    assert len({m.user_id for m in members}) == len(members)
    summary = admin.learning_plans.roster_summary(plan.plan_id)
    assert summary.total_count == len(members)
    assert [m.raw for m in members] == [m.raw for m in admin.learning_plans.learners(plan.plan_id)]

    overdue = admin.learning_plans.learners(plan.plan_id, status="overdue", page_size=5).to_list()
    assert overdue and all(m.progress_info and m.progress_info.is_overdue for m in overdue)
    assert len(overdue) == summary.overdue_count

    learner = demo_db.people.learner_id
    courses = admin.learners.course_progress(learner, page_size=3).to_list()
    assert len(courses) > 3 and len({c.course_id for c in courses}) == len(courses)
    course = courses[0]
    one = admin.courses.learner_progress(course.course_id, learner)
    assert one.raw == course.raw and one.completion_percentage == course.completion_percentage

    everyone = admin.courses.progress(course.course_id, page_size=10).to_list()
    assert len(everyone) > 10
    assert len({c.user_id for c in everyone}) == len(everyone)
    assert str(learner) in {c.user_id for c in everyone}

    in_plan = admin.learners.plan_courses_progress(
        learner, plans_of_learner(admin, learner)[0], page_size=2
    ).to_list()
    assert len(in_plan) >= 3 and all(c.level is not None and c.level >= 1 for c in in_plan)
    assert len({c.course_id for c in in_plan}) == len(in_plan)


def _holds(member: RosterMember, part: str) -> bool:
    info = member.user_info
    texts = (info.display_name, info.email_id, info.employee_id)
    return any(part.lower() in (text or "").lower() for text in texts)


def test_the_roster_is_searched_by_name_email_or_employee_id(admin: Client) -> None:
    plan = admin.learning_plans.list().to_list()[0]
    whole = admin.learning_plans.learners(plan.plan_id).to_list()
    name = whole[-1].user_info.display_name
    assert name
    part = name.split()[0].upper()  # case does not matter
    found = admin.learning_plans.learners(plan.plan_id, search=part, page_size=2).to_list()
    assert found and [m.raw for m in found] == [m.raw for m in whole if _holds(m, part)]
    assert len(found) < len(whole)
    summary = admin.learning_plans.roster_summary(plan.plan_id, search=part)
    assert summary.matching_count == len(found) and summary.total_count == len(whole)

    email = whole[0].user_info.email_id
    assert email
    by_email = admin.learning_plans.learners(plan.plan_id, search=email).to_list()
    assert [m.user_id for m in by_email] == [whole[0].user_id]

    late = admin.learning_plans.learners(plan.plan_id, status="overdue").to_list()
    assert late
    late_name = late[0].user_info.display_name or ""
    both = admin.learning_plans.learners(plan.plan_id, status="overdue", search=late_name)
    assert [m.raw for m in both] == [m.raw for m in late if _holds(m, late_name)]

    nobody = admin.learning_plans.roster_summary(plan.plan_id, search="no-such-learner-xyz")
    assert nobody.matching_count == 0 and nobody.total_count == len(whole)
    assert admin.learning_plans.learners(plan.plan_id, search="no-such-learner-xyz").to_list() == []
    # An empty search is no filter.
    assert len(admin.learning_plans.learners(plan.plan_id, search="").to_list()) == len(whole)


def plans_of_learner(client: Client, learner: int) -> list[str]:
    return [e.plan_id for e in client.learners.learning_plans_progress(learner)]


def test_a_learner_is_found_by_email(admin: Client) -> None:
    entries = admin.learners.learning_plans_progress("learner@zylker.example").to_list()
    assert len(entries) == 4


def test_errors_carry_status_code_message_and_request_id(
    make_client: MakeClient, admin: Client, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    with pytest.raises(NotFoundError) as found:
        admin.learners.learning_plans_progress("nobody@nowhere.example").to_list()
    assert found.value.status == 404 and found.value.code == 7048
    assert found.value.message and found.value.request_id
    assert found.value.response is not None
    assert found.value.request_id == found.value.response.headers["x-request-id"]

    with pytest.raises(NotFoundError) as other_org:
        admin.learners.learning_plans_progress(demo_db.people.other_org_learner_id).to_list()
    assert other_org.value.code == 7048

    stranger = make_client(base_url=open_server.url, access_token="1000.not-a-token")
    with pytest.raises(AuthenticationError) as bad:
        stranger.learning_plans.list().to_list()
    assert bad.value.status == 401 and bad.value.code == 7201

    learner = make_client(base_url=open_server.url, access_token=demo_db.learner_token)
    with pytest.raises(PermissionDeniedError) as denied:
        learner.learning_plans.learners(admin.learning_plans.list().first_page().items[0].plan_id)
        learner.learning_plans.learners("100002000000046100").to_list()
    assert denied.value.status == 403

    with pytest.raises(ValidationError) as invalid:
        admin.request("GET", "/api/v1/learning-plans", params={"limit": "101"})
    assert invalid.value.status == 422 and invalid.value.code == 7021


def test_connection_errors_are_retried_then_raised(
    make_client: MakeClient, demo_db: DemoDatabase
) -> None:
    sleeps: list[float] = []
    client = make_client(
        base_url="http://127.0.0.1:9",  # nothing listens on the discard port
        access_token=demo_db.admin_token,
        max_retries=2,
        sleep=sleeps.append,
    )
    with pytest.raises(APIConnectionError):
        client.learning_plans.list().to_list()
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1] * 2


def test_a_lost_answer_is_retried_and_counted(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    transport = FaultyTransport(refuse=1, drop=1)
    client = make_client(
        base_url=open_server.url,
        access_token=demo_db.admin_token,
        transport=transport,
        sleep=lambda _: None,
    )
    entries = client.learners.learning_plans_progress(demo_db.people.learner_id).to_list()
    assert len(entries) == 4
    assert transport.statuses() == [None, None, 200]
    # The refused call never reached the server; the lost answer did, and counts.
    assert client.governor.stats(REFERENCE_API).calls == 2


def test_a_write_keeps_one_idempotency_key_across_retries(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    transport = FaultyTransport(refuse=1, drop=1)
    client = make_client(
        base_url=open_server.url,
        access_token=demo_db.admin_token,
        transport=transport,
        sleep=lambda _: None,
    )
    with contextlib.suppress(APIStatusError):  # the answer does not matter: what was sent does
        client.request("POST", "/api/v1/learning-plans", json={})
    keys = [e.headers.get("idempotency-key") for e in transport.log]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1
    reads = make_client(
        base_url=open_server.url, access_token=demo_db.admin_token, transport=transport
    )
    reads.learning_plans.list(page_size=1).first_page()
    assert "idempotency-key" not in transport.log[-1].headers


def test_refresh_token_auth_and_revoke(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    creds = new_self_client(demo_db, ttl_seconds=3600)
    transport = RecordingTransport()
    client = make_client(
        base_url=open_server.url,
        refresh_token=creds.refresh_token,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        transport=transport,
    )
    assert len(client.learning_plans.list().to_list()) == 9
    assert client.token_refreshes == 1
    assert [e.path for e in transport.log if "oauth" in e.path] == ["/oauth/v2/token"]
    assert "client_secret" not in str(transport.log[0].path)  # sent in the body, not the URL
    client.learning_plans.list().to_list()
    assert client.token_refreshes == 1  # the token is reused until it nears expiry

    client.oauth.revoke()
    with pytest.raises(AuthenticationError):
        client.learning_plans.list().to_list()  # its access tokens went with the refresh token

    wrong = make_client(
        base_url=open_server.url,
        refresh_token=creds.refresh_token,
        client_id=creds.client_id,
        client_secret="wrong",
    )
    with pytest.raises(AuthenticationError):
        wrong.learning_plans.list().to_list()


def test_one_refresh_for_many_threads(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    creds = new_self_client(demo_db, ttl_seconds=3600)
    transport = RecordingTransport()
    client = make_client(
        base_url=open_server.url,
        access_token="1000.expired-or-unknown",  # refused: every thread needs a fresh token
        refresh_token=creds.refresh_token,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        transport=transport,
    )
    barrier = threading.Barrier(8)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        pager = client.learners.learning_plans_progress("learner@zylker.example")
        results.append(len(pager.to_list()))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [4] * 8
    assert [e.path for e in transport.log].count("/oauth/v2/token") == 1
    assert client.token_refreshes == 1


def test_no_credentials_is_a_clear_error(
    make_client: MakeClient,
) -> None:
    from lmsplans.client import LmsPlansError

    with pytest.raises(LmsPlansError, match="access_token"):
        make_client(base_url="http://127.0.0.1:9")


def test_data_centres_and_base_urls(
    make_client: MakeClient,
) -> None:
    from lmsplans.client import data_centre_urls

    expected = {
        "com": "zoho.com",
        "eu": "zoho.eu",
        "in": "zoho.in",
        "com.au": "zoho.com.au",
        "jp": "zoho.jp",
        "ca": "zohocloud.ca",
        "sa": "zoho.sa",
        "uk": "zoho.uk",
        "com.cn": "zoho.com.cn",
    }
    for dc, domain in expected.items():
        assert data_centre_urls(dc) == (f"https://people.{domain}", f"https://accounts.{domain}")
        client = make_client(dc=dc, access_token="t")
        assert (client.base_url, client.accounts_url) == data_centre_urls(dc)
    own = make_client(base_url="http://127.0.0.1:8000/", access_token="t")
    assert own.base_url == own.accounts_url == "http://127.0.0.1:8000"
    split = make_client(base_url="http://a:1", accounts_url="http://b:2", access_token="t")
    assert (split.base_url, split.accounts_url) == ("http://a:1", "http://b:2")
    from lmsplans.client import LmsPlansError

    with pytest.raises(LmsPlansError, match="data centre"):
        make_client(dc="mars", access_token="t")


def test_from_env(
    monkeypatch: pytest.MonkeyPatch, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    monkeypatch.setenv("LMSPLANS_BASE_URL", open_server.url)
    monkeypatch.setenv("LMSPLANS_ACCESS_TOKEN", demo_db.admin_token)
    with Client.from_env() as client:
        assert client.base_url == open_server.url
        entries = client.learners.learning_plans_progress(demo_db.people.learner_id).to_list()
    assert len(entries) == 4


def test_the_auth_header_is_zohos(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    transport = RecordingTransport()
    client = make_client(
        base_url=open_server.url, access_token=demo_db.admin_token, transport=transport
    )
    client.learning_plans.list(page_size=1).first_page()
    assert transport.log[0].headers["authorization"] == f"Zoho-oauthtoken {demo_db.admin_token}"


def test_a_bad_parameter_is_named_in_the_errors_string(admin: Client) -> None:
    plan = admin.learning_plans.list().to_list()[0]
    with pytest.raises(ValidationError) as raised:
        admin.learning_plans.learners(plan.plan_id, status="sideways").to_list()
    assert "(status: must be one of" in str(raised.value)


def test_a_client_without_base_url_or_dc_says_once_which_zoho_host_it_calls(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmsplans.client import _hosts

    monkeypatch.setattr(_hosts, "_ANNOUNCED", set())
    with caplog.at_level("WARNING", logger="lmsplans.client"):
        for _ in range(2):
            Client(access_token="1000.x", pacing_state=False).close()
        Client(dc="eu", access_token="1000.x", pacing_state=False).close()
        Client(base_url="http://127.0.0.1:9", access_token="1000.x").close()
    said = [r.getMessage() for r in caplog.records if "people.zoho" in r.getMessage()]
    assert len(said) == 1 and "https://people.zoho.com" in said[0] and "base_url=" in said[0]

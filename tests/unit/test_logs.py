"""The log configuration (text and JSON records) and the access log's lines and batches."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import re
from collections.abc import Iterator

import pytest

from lmsplans.server.logs import AccessLog, logging_config

CONFIGURED = ("lmsplans", "uvicorn", "uvicorn.error")
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def configured_loggers() -> Iterator[None]:
    """Leave logging as it was: `dictConfig` changes process-wide loggers."""
    yield
    for name in CONFIGURED:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_text_records_are_stamped_in_utc_with_level_and_logger(
    configured_loggers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(logging_config(level="info", log_format="text"))
    logging.getLogger("lmsplans").info("serving %s", "here")
    logging.getLogger("lmsplans").debug("not at info")
    err = capsys.readouterr().err
    assert re.fullmatch(rf"{STAMP} INFO lmsplans: serving here\n", err), err


def test_json_records_are_one_object_a_line(
    configured_loggers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(logging_config(level="warning", log_format="json"))
    logging.getLogger("uvicorn.error").warning(
        "bound %s", "there", extra={"color_message": "\x1b[1mbound\x1b[0m"}
    )
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("lmsplans.errors").exception("unhandled error, request %s", "r-1")
    lines = capsys.readouterr().err.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first == {
        "time": first["time"],
        "level": "WARNING",
        "logger": "uvicorn.error",
        "message": "bound there",
    }
    assert re.fullmatch(STAMP, first["time"])
    assert second["level"] == "ERROR" and second["message"] == "unhandled error, request r-1"
    assert "ValueError: boom" in second["exc_info"]


def scope(path: str = "/api/v1/learners", **extra: object) -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"client_secret=hidden",
        "client": ("127.0.0.9", 5555),
        **extra,
    }


async def test_access_lines_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    text, jsonl = AccessLog(json_lines=False), AccessLog(json_lines=True)
    for log in (text, jsonl):
        log.record(scope(), request_id="req-1", status=200, seconds=0.001234)
        log.flush()
    text_line, json_line = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"{STAMP} INFO lmsplans\.access: request=req-1 127\.0\.0\.9 GET /api/v1/learners 200 "
        r"1\.23ms",
        text_line,
    ), text_line
    record = json.loads(json_line)
    assert record == {
        "time": record["time"],
        "level": "INFO",
        "logger": "lmsplans.access",
        "requestId": "req-1",
        "client": "127.0.0.9",
        "method": "GET",
        "path": "/api/v1/learners",
        "status": 200,
        "durationMs": 1.23,
    }
    assert "hidden" not in text_line + json_line  # never the query string


async def test_a_path_cannot_break_a_line_nor_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    text, jsonl = AccessLog(json_lines=False), AccessLog(json_lines=True)
    # No raw path (not every server gives one): the decoded path, escaped.
    text.record(scope("/a\nb", raw_path=None, client=None), request_id="r", status=404, seconds=0)
    # What a lenient HTTP parser may let through on the request line.
    odd = b'/x"y\\z\x1b[31m\xc3\xa9'
    for log in (text, jsonl):
        log.record(scope(raw_path=odd), request_id="r", status=404, seconds=0)
        log.flush()
    first, second, third = capsys.readouterr().out.splitlines()
    assert r" - GET /a\nb 404 " in first
    assert r'GET /x"y\\z\x1b[31m\xc3\xa9 404 ' in second
    assert "\x1b" not in second  # no terminal escape reaches the log
    assert json.loads(third)["path"] == odd.decode("latin-1")


async def test_lines_are_written_in_batches(capsys: pytest.CaptureFixture[str]) -> None:
    log = AccessLog(json_lines=False)
    for n in range(3):
        log.record(scope(), request_id=f"r{n}", status=200, seconds=0)
    assert capsys.readouterr().out == ""  # kept, not yet written
    await asyncio.sleep(AccessLog.FLUSH_SECONDS + 0.2)
    assert [
        line.split("request=")[1].split()[0] for line in capsys.readouterr().out.splitlines()
    ] == [
        "r0",
        "r1",
        "r2",
    ]
    # A full batch is written at once, without waiting.
    written, recorded = "", 0
    while not written:
        assert recorded < AccessLog.FLUSH_BYTES, "no batch was written"
        log.record(scope(), request_id=f"{recorded:040d}", status=200, seconds=0)
        recorded += 1
        written = capsys.readouterr().out
    sizes = [len(line) + 1 for line in written.splitlines()]
    assert len(sizes) == recorded
    assert sum(sizes[:-1]) < AccessLog.FLUSH_BYTES <= sum(sizes)

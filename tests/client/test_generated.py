"""The sync client is generated from the async one (`scripts/unasync.py`), and is up to date."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", REPO_ROOT / "scripts/unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(unasync: ModuleType) -> dict[Path, str]:
    files: dict[Path, str] = unasync.generate()  # in memory: nothing is written
    return files


def test_every_generated_file_is_what_the_async_source_makes(
    unasync: ModuleType, generated: dict[Path, str]
) -> None:
    sources = sorted((REPO_ROOT / "src/lmsplans/client/_async").rglob("*.py"))
    assert len(generated) == len(sources) >= 9
    out_of_date = [str(p.relative_to(REPO_ROOT)) for p in unasync.stale(generated)]
    assert out_of_date == [], "generated files are out of date: run python scripts/unasync.py"
    for path, text in generated.items():
        source = REPO_ROOT / "src/lmsplans/client/_async" / path.relative_to(unasync.TARGET)
        assert text.startswith(f"# Generated from {source.relative_to(REPO_ROOT)}\n")
        assert "do not edit" in text.splitlines()[1]
        assert "await " not in text and "async def" not in text and "import asyncio" not in text


def test_a_stale_or_leftover_generated_file_is_caught(
    unasync: ModuleType,
    generated: dict[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = tmp_path / "_sync"
    shutil.copytree(unasync.TARGET, copy)
    moved = {copy / path.relative_to(unasync.TARGET): text for path, text in generated.items()}
    monkeypatch.setattr(unasync, "TARGET", copy)
    assert unasync.stale(moved) == []
    edited = copy / "resources/learners.py"
    edited.write_text(edited.read_text().replace("GET /api/v1/learners", "GET /api/v2/learners"))
    (copy / "leftover.py").write_text("")
    assert unasync.stale(moved) == [copy / "leftover.py", edited]


@pytest.mark.parametrize(
    ("line", "sync"),
    [
        (
            "    async def get(self) -> AsyncPager[Learner]:",
            "    def get(self) -> SyncPager[Learner]:",
        ),
        ("        body = await self._client._call(e)", "        body = self._client._call(e)"),
        (
            "from lmsplans.client._async.pager import AsyncPager, AsyncResource",
            "from lmsplans.client._sync.pager import SyncPager, Resource",
        ),
        ("        self._http = httpx.AsyncClient(", "        self._http = httpx.Client("),
        (
            "        t = await self.governor.acquire_async(api)",
            "        t = self.governor.acquire(api)",
        ),
        ("    async def __aenter__(self) -> AsyncClient:", "    def __enter__(self) -> Client:"),
        ("        return [item async for item in self]", "        return [item for item in self]"),
        ("        async with self._lock:", "        with self._lock:"),
        (
            "        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,",
            "        sleep: Callable[[float], None] = time.sleep,",
        ),
        # Whole names only: parts of other names are left alone.
        (
            "        self.my_aclose_count = MyAsyncThing",
            "        self.my_aclose_count = MyAsyncThing",
        ),
        ("        '`_async` is the source'", "        '`_async` is the source'"),
    ],
)
def test_one_line_rewritten(unasync: ModuleType, line: str, sync: str) -> None:
    assert unasync.unasync_line(line) == sync

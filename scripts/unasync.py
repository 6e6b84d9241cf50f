#!/usr/bin/env python3
"""Generate the sync client from the async one, in the manner of httpcore's `unasync`.

    python scripts/unasync.py          # write src/lmsplans/client/_sync/ from _async/
    python scripts/unasync.py --check  # exit 1, naming them, if generated files are stale

The async client (`src/lmsplans/client/_async/`) is the only source. Each of its lines is
rewritten token by token (`SUBS`: `AsyncClient` -> `Client`, `async def` -> `def`, `await x`
-> `x`, `asyncio.sleep` -> `time.sleep`, ...), then the few docstring lines that speak of
asyncio are swapped (`PHRASES`), then ruff sorts the imports, drops those left unused and
formats the result, so the generated files pass the same checks as the hand-written ones.
Every generated file starts with a header naming its source; `tests/client/test_generated.py`
fails when one is out of date.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src/lmsplans/client/_async"
TARGET = ROOT / "src/lmsplans/client/_sync"
HEADER = (
    "# Generated from {source}\n"
    "# by scripts/unasync.py: do not edit (edit the source, then run the script).\n"
)

# (pattern, replacement), applied in order to every line, each a whole word or name.
SUBS: list[tuple[str, str]] = [
    # Names: the async ones lose their prefix (the sync pager keeps its public name).
    ("AsyncPager", "SyncPager"),
    ("AsyncIterator", "Iterator"),
    ("AsyncBaseTransport", "BaseTransport"),
    (r"Async([A-Z]\w*)", r"\1"),  # AsyncClient, AsyncLearners, httpx.AsyncClient, ...
    (r"lmsplans\.client\._async", "lmsplans.client._sync"),
    # Keywords.
    ("async def", "def"),
    ("async for", "for"),
    ("async with", "with"),
    ("await ", ""),
    # asyncio's waits and locks become blocking ones.
    (r"asyncio\.sleep", "time.sleep"),
    (r"asyncio\.Lock", "threading.Lock"),
    ("import asyncio", "import threading"),
    (r"Awaitable\[None\]", "None"),
    # Methods and arguments that differ by name.
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("__aiter__", "__iter__"),
    ("aclose", "close"),
    ("acquire_async", "acquire"),
    ("async_sleep=", "sleep="),
]


def _compile(pattern: str) -> re.Pattern[str]:
    """`pattern`, matched only as a whole name where it begins or ends with one."""
    before = r"(?<!\w)" if re.match(r"\w", pattern) else ""
    after = r"(?!\w)" if re.search(r"[\w)]$", pattern) else ""
    return re.compile(before + pattern + after)


FIXES = "I001,F401,RUF022,UP028"
COMPILED = [(_compile(pattern), repl) for pattern, repl in SUBS]

# Whole docstring lines (stripped) of the async source that say what differs.
PHRASES: dict[str, str] = {
    '"""An asyncio client for the Zoho People LMS API, as served by Zoho or by `lmsplans serve`.': (
        '"""A sync client for the Zoho People LMS API, as served by Zoho or by `lmsplans serve`.'
    ),
    "Calls are awaited and pagers are async iterators; `Client` is the same, blocking.": (
        "Calls block and pagers are iterators; `AsyncClient` is the same for asyncio."
    ),
}


def unasync_line(line: str) -> str:
    """One line of the async source, rewritten for the sync client."""
    for pattern, repl in COMPILED:
        line = pattern.sub(repl, line)
    stripped = line.strip()
    if stripped in PHRASES:
        line = line.replace(stripped, PHRASES[stripped])
    return line


def _ruff(args: list[str], text: str, filename: Path) -> str:
    result = subprocess.run(  # noqa: S603 - this interpreter's ruff, fixed arguments
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff {' '.join(args)} failed on {filename}:\n{result.stderr}")
    return result.stdout


def unasync_text(text: str, *, source: str, target: Path) -> str:
    """The generated module for the async module `text` (`source` names it in the header)."""
    rewritten = "".join(unasync_line(line) for line in text.splitlines(keepends=True))
    # Fixes of the rewrite's own making: imports out of order or left unused, `__all__` out of
    # order, and `yield` in a loop where the sync code can `yield from`.
    fixed = _ruff(
        ["check", "--fix", "--unsafe-fixes", "--exit-zero", "--quiet", "--select", FIXES],
        rewritten,
        target,
    )
    formatted = _ruff(["format", "--quiet"], fixed, target)
    return HEADER.format(source=source) + formatted


def generate() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    files: dict[Path, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        target = TARGET / path.relative_to(SOURCE)
        source = path.relative_to(ROOT).as_posix()
        files[target] = unasync_text(path.read_text(encoding="utf-8"), source=source, target=target)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """The generated files that differ from what the source makes, and leftovers."""
    differ = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    extra = [p for p in TARGET.rglob("*.py") if p not in files] if TARGET.exists() else []
    return sorted(differ + extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    args = parser.parse_args()
    files = generate()
    out_of_date = stale(files)
    if args.check:
        for path in out_of_date:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if out_of_date else 0
    for path in out_of_date:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            path.unlink()
            print(f"removed {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

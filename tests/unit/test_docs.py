"""The README and docs/ document what the code does (every setting, every error code), and
link only to what a clone of the repository has."""

import re
import subprocess
from pathlib import Path

import pytest

from lmsplans.server import errors
from lmsplans.server.settings import Settings
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
# Defaults worked out at start-up, as the README words them.
COMPUTED_DEFAULTS = {
    "data_dir": "the user's data directory, e.g. `~/.local/share/lmsplans`",
    "database_url": "`sqlite:///<data dir>/lmsplans.db`",
}


def test_every_setting_is_in_the_readme_with_its_default() -> None:
    documented = dict(re.findall(r"^\| `LMSPLANS_([A-Z_]+)` \| ([^|]+) \|", README, re.M))
    fields = Settings.model_fields
    assert set(documented) == {name.upper() for name in fields}
    for name, field in fields.items():
        default = documented[name.upper()].strip()
        if name in COMPUTED_DEFAULTS:
            assert default == COMPUTED_DEFAULTS[name], name
            continue
        if field.default is None or name == "api_domain":
            continue
        # Booleans as the environment spells them.
        value = str(field.default).lower() if isinstance(field.default, bool) else field.default
        assert default == f"`{value}`", name


def test_every_error_code_is_in_the_readme_table() -> None:
    documented = {
        (int(status), int(code))
        for status, code in re.findall(r"^\| (\d{3}) \| (\d{4}) \|", README, re.M)
    }
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError)
    ]
    assert documented == {(cls.status, cls.code) for cls in classes}


# Spelled in two parts, so that this file does not match itself.
BESIDE_THE_REPOSITORY = re.compile(
    "|".join([r"\.\./" + "shared", "shared/" + "(?:spec|reference)/"])
)
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCED_CODE = re.compile(r"^```.*?^```", re.M | re.S)


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, so no list of tracked files ({exc})")
    return [REPO_ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_refers_to_a_folder_beside_the_repository() -> None:
    """A clone is the whole product: nothing may point at files it does not have."""
    files = [f for f in tracked_files() if f.relative_to(REPO_ROOT).parts[0] != ".ci"]
    assert any(f.name == "README.md" for f in files)
    found = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0)}"
        for path in files
        if path.is_file()
        for match in BESIDE_THE_REPOSITORY.finditer(path.read_bytes().decode(errors="replace"))
    ]
    assert found == []


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    headings = re.findall(r"^#+ (.+)$", FENCED_CODE.sub("", markdown), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    broken, checked = [], 0
    for document in documents():
        text = FENCED_CODE.sub("", document.read_text())
        for target in MARKDOWN_LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check
                continue
            checked += 1
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            where = f"{document.relative_to(REPO_ROOT)}: {target}"
            if not linked.is_relative_to(REPO_ROOT) or not linked.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
                broken.append(f"{where} (no such heading)")
    assert checked >= 10, "the links were not found"
    assert broken == []


def test_the_link_checks_notice_a_broken_link() -> None:
    assert anchors("# Rate limit and lock\n## `GET /` answers\n") == {
        "rate-limit-and-lock",
        "get--answers",
    }
    assert BESIDE_THE_REPOSITORY.search("see [the spec](../" + "shared" + "/spec/API.md)")
    assert MARKDOWN_LINK.findall("[a](docs/api.md#errors) and [b](https://x.example)") == [
        "docs/api.md#errors",
        "https://x.example",
    ]

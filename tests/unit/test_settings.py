"""Settings: a data location independent of the working directory, and URLs checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lmsplans.server.settings import Settings, redacted


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No `LMSPLANS_*` database settings; the user's data home under tmp; answers it."""
    for name in ("LMSPLANS_DATABASE_URL", "LMSPLANS_DATA_DIR", "LMSPLANS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    return data_home


def test_the_default_database_lives_in_the_users_data_directory(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = set()
    for cwd in (tmp_path, Path("/")):  # wherever the server starts
        monkeypatch.chdir(cwd)
        settings = Settings()
        assert settings.data_dir == clean_env / "lmsplans"
        answers.add(settings.database_url)
    assert answers == {f"sqlite:///{clean_env / 'lmsplans' / 'lmsplans.db'}"}


def test_the_data_directory_is_a_setting_made_absolute_at_start(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LMSPLANS_DATA_DIR", "relative/data")
    settings = Settings()
    assert settings.data_dir == tmp_path / "relative" / "data"
    assert settings.database_url == f"sqlite:///{tmp_path}/relative/data/lmsplans.db"
    monkeypatch.setenv("LMSPLANS_DATA_DIR", "~/lmsplans-data")
    assert Settings().data_dir == Path.home() / "lmsplans-data"


def test_a_database_url_wins_over_the_data_directory(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMSPLANS_DATA_DIR", "/srv/lmsplans")
    monkeypatch.setenv("LMSPLANS_DATABASE_URL", "postgresql://app@db:5432/lmsplans")
    assert Settings().database_url == "postgresql://app@db:5432/lmsplans"
    monkeypatch.setenv("LMSPLANS_DATABASE_URL", "")  # empty is unset
    assert Settings().database_url == "sqlite:////srv/lmsplans/lmsplans.db"
    assert Settings(database_url="sqlite:///x.db").database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/lmsplans", "unsupported URL 'mysql://root@localhost/lmsplans'"),
        ("lmsplans.db", "unsupported URL 'lmsplans.db'"),
        ("postgresql://app@db:port/lmsplans", "cannot parse 'postgresql://app@db:port/lmsplans'"),
        ("postgresql://app:secret@db:70000/x", "cannot parse 'postgresql://app:***@db:70000/x'"),
        ("sqlite:/lmsplans.db", "a SQLite URL is sqlite:///relative or sqlite:////absolute"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_refused_at_start(
    clean_env: Path, url: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=url)
    [error] = refused.value.errors()
    assert error["loc"] == ("database_url",)
    assert message in error["msg"]
    assert "secret" not in error["msg"]


@pytest.mark.parametrize("url", ["http://cache:6379", "redis://cache:six/0"])
def test_a_redis_url_that_cannot_be_used_is_refused_at_start(clean_env: Path, url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(redis_url=url)
    assert refused.value.errors()[0]["loc"] == ("redis_url",)
    assert Settings(redis_url="").redis_url is None
    assert Settings(redis_url="rediss://:pw@cache:6380/1").redis_url == "rediss://:pw@cache:6380/1"


def test_log_settings(clean_env: Path) -> None:
    assert Settings(log_level="WARNING").log_level == "warning"
    with pytest.raises(ValidationError):
        Settings(log_level="loud")
    with pytest.raises(ValidationError):
        Settings(log_format="xml")  # type: ignore[arg-type]
    assert Settings().access_log is True
    assert Settings(access_log="false").access_log is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://app@db/x?sslmode=require", "postgresql://app@db/x?sslmode=require"),
        ("sqlite:////var/lib/lmsplans/lmsplans.db", "sqlite:////var/lib/lmsplans/lmsplans.db"),
    ],
)
def test_passwords_are_hidden_wherever_a_url_is_shown(url: str, shown: str) -> None:
    assert redacted(url) == shown
    assert redacted(url, mask=None) == shown.replace(":***@", "@")

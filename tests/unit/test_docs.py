"""The README documents what the code does: every setting and every error code."""

import re

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

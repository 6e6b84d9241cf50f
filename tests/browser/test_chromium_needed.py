"""Where there is no Chromium: skipped with the reason locally, a failure where required."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_browser_is_a_reason_to_skip_unless_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LMSPLANS_TEST_CHROMIUM", raising=False)
    monkeypatch.setattr(conftest, "DEFAULT_CHROMIUM", "/nonexistent/chromium")
    reason = conftest.chromium_unavailable_reason()
    assert reason is not None
    assert "/nonexistent/chromium" in reason and "apt-get install chromium" in reason
    monkeypatch.setenv("LMSPLANS_TEST_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match="not installed"):
        conftest.chromium_unavailable_reason()

"""The browser test harness: a missing Chromium skips the browser tests locally and fails them under CI
(`CI=true`, as `.ci/run` sets). Runs without a browser."""

import pytest

from .conftest import require_chromium


def test_missing_chromium_is_a_skip_outside_ci(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_chromium(tmp_path / "no-chromium", environ={})


def test_missing_chromium_is_a_failure_under_ci(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="under CI the browser tests must run"):
        require_chromium(tmp_path / "no-chromium", environ={"CI": "true"})


def test_present_chromium_passes(tmp_path):
    fake = tmp_path / "chromium"
    fake.touch()
    assert require_chromium(fake, environ={"CI": "true"}) is None

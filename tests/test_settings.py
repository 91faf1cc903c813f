"""The Settings tree: nested groups from the environment, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from qa.errors import ConfigError
from qa.settings import MODES, AnswerSettings, load_settings


def test_nested_groups_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_RETRIEVAL__MODE", "dense")
    monkeypatch.setenv("QA_CHUNKING__SIZE", "300")
    monkeypatch.setenv("QA_ANSWER__ABSTAIN_THRESHOLD", "0.6")
    s = load_settings()
    assert (s.retrieval.mode, s.chunking.size, s.answer.abstain_threshold) == ("dense", 300, 0.6)
    # Untouched fields of a group keep their defaults.
    assert s.retrieval.fusion == "zscore" and s.chunking.overlap == 120


def test_one_default_per_setting() -> None:
    # The answer step reads its threshold from Settings only: no second default elsewhere.
    assert load_settings().answer.abstain_threshold == AnswerSettings().abstain_threshold == 0.45


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("QA_RETRIEVAL__MODE", "fast", "'hybrid', 'dense' or 'bm25'"),
        ("QA_PORT", "x", "integer"),
        ("QA_EMBEDDER", "gpu", "'auto', 'torch'"),
        ("QA_CHUNKING__SIZE", "0", "greater than or equal to 1"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = caught.value.message
    assert "\n" not in message and message.startswith(f"{name}={value!r} is invalid")
    assert expected in message
    assert caught.value.exit_code != 0


def test_with_overrides_validates_and_keeps_the_rest(tmp_path: pytest.TempPathFactory) -> None:
    base = load_settings(source_dir="somewhere")
    changed = base.with_overrides(chunking={"size": 200})
    assert changed.chunking.size == 200 and str(changed.source_dir) == "somewhere"
    with pytest.raises(ConfigError, match="QA_RETRIEVAL__MODE"):
        base.with_overrides(retrieval={"mode": "nope"})
    assert set(MODES) == {"hybrid", "dense", "bm25"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QA_CHUNKING__OVERLAP": "600"}, "overlap (600) must be smaller than size (600)"),
        ({"QA_RETRIEVAL": "notjson"}, "a QA_ group takes JSON"),
    ],
)
def test_settings_that_cannot_work_together_are_one_config_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in caught.value.message and "\n" not in caught.value.message

"""Settings text: JSON or YAML, a mapping at the top, JSON values only, errors that say where."""

from __future__ import annotations

import pytest

from sync.model import SettingsTextInvalid, parse_settings_text, settings_keys


def test_json() -> None:
    assert parse_settings_text('{"poll": 10, "login": {"user": "a"}}') == {"poll": 10, "login": {"user": "a"}}


def test_yaml() -> None:
    assert parse_settings_text("poll: 10\nlogin:\n  user: a\ninputs: [hdmi1, hdmi2]\n") == {
        "poll": 10,
        "login": {"user": "a"},
        "inputs": ["hdmi1", "hdmi2"],
    }


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "~"])
def test_blank_means_no_settings(text: str) -> None:
    assert parse_settings_text(text) == {}


def test_dates_stay_strings_and_keys_become_strings() -> None:
    assert parse_settings_text("since: 2024-01-01\n1: one\n") == {"since": "2024-01-01", "1": "one"}


@pytest.mark.parametrize(
    ("text", "match"), [("- a\n- b\n", "not a list"), ("just words", "not a string"), ("3", "not a number")]
)
def test_the_top_must_be_a_mapping(text: str, match: str) -> None:
    with pytest.raises(SettingsTextInvalid, match=match):
        parse_settings_text(text)


def test_syntax_errors_say_where() -> None:
    with pytest.raises(SettingsTextInvalid, match=r"at line 3, column 1: expected .,. or .\]."):
        parse_settings_text("a: 1\nb: [1, 2\n")


@pytest.mark.parametrize(
    ("text", "path"),
    [("a:\n  b: .nan\n", "a.b"), ("a: !!binary aGk=\n", "a"), ("a: [1, !!set {x: null}]\n", "a.1")],
)
def test_values_json_cannot_carry_are_named(text: str, path: str) -> None:
    with pytest.raises(SettingsTextInvalid, match=f"^{path}: "):
        parse_settings_text(text)


def test_python_objects_are_refused() -> None:
    with pytest.raises(SettingsTextInvalid):
        parse_settings_text("a: !!python/object/apply:os.getcwd []\n")


def test_alias_bombs_are_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(SettingsTextInvalid, match="too large"):
        parse_settings_text("\n".join(lines))


def test_keys_in_order() -> None:
    assert settings_keys("z: 1\na: 2\n") == ["z", "a"]

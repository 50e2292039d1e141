"""The trigger model: PlaceOS's shapes accepted, bad definitions refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from sync.model import DocumentInvalid, validate_document


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document("triggers", data)
    return {e["field"]: e["message"] for e in caught.value.errors}


def test_placeos_enum_names_are_read_and_stored_in_json_form() -> None:
    trigger = validate_document(
        "triggers",
        {
            "name": "T",
            "conditions": {
                "comparisons": [
                    {
                        "left": {"mod": "Display_1", "status": "power"},
                        "operator": "GreaterThanOrEqual",
                        "right": 3,
                    }
                ],
                "time_dependents": [{"type": "Cron", "cron": "30 2 * * *", "timezone": "Europe/London"}],
            },
        },
    )
    assert trigger["conditions"]["comparisons"][0]["operator"] == "greater_than_or_equal"
    assert trigger["conditions"]["comparisons"][0]["left"] == {
        "mod": "Display_1",
        "status": "power",
        "keys": [],
    }
    assert trigger["conditions"]["time_dependents"][0]["type"] == "cron"
    assert trigger["supported_methods"] == ["POST"]


def test_unknown_operator_names_the_field() -> None:
    errors = _errors(
        {"name": "T", "conditions": {"comparisons": [{"left": 1, "operator": "roughly", "right": 2}]}}
    )
    assert set(errors) == {"conditions.comparisons.0.operator"}
    assert "greater_than" in errors["conditions.comparisons.0.operator"]


def test_bad_cron_and_unknown_timezone_name_their_fields() -> None:
    cron = _errors({"name": "T", "conditions": {"time_dependents": [{"type": "cron", "cron": "61 * * * *"}]}})
    assert set(cron) == {"conditions.time_dependents.0.cron"}
    assert "61 * * * *" in cron["conditions.time_dependents.0.cron"]
    zone = _errors(
        {
            "name": "T",
            "conditions": {
                "time_dependents": [{"type": "cron", "cron": "* * * * *", "timezone": "Mars/Base"}]
            },
        }
    )
    assert set(zone) == {"conditions.time_dependents.0.timezone"}


def test_webhook_actions_and_methods_are_checked() -> None:
    errors = _errors(
        {
            "name": "T",
            "supported_methods": ["POST", "FETCH"],
            "actions": {"webhooks": [{"url": "ftp://example.com/x", "retries": 99}]},
        }
    )
    assert set(errors) == {"supported_methods", "actions.webhooks.0.url", "actions.webhooks.0.retries"}
    assert "FETCH" in errors["supported_methods"]
    ok = validate_document(
        "triggers",
        {"name": "T", "actions": {"webhooks": [{"url": "http://127.0.0.1:9/hook", "body": "$trigger_name"}]}},
    )
    assert ok["actions"]["webhooks"][0] == {
        "method": "POST",
        "url": "http://127.0.0.1:9/hook",
        "headers": {},
        "body": "$trigger_name",
        "timeout": 10.0,
        "retries": 2,
    }


def test_function_action_module_reference_is_checked() -> None:
    errors = _errors({"name": "T", "actions": {"functions": [{"mod": "Display 1", "method": "power"}]}})
    assert set(errors) == {"actions.functions.0.mod"}

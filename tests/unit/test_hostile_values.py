"""Vendor text made safe at the edge (contract rule 13): what each kind of hostile value becomes
in the answer the mapping reads, in a failure reason, in a log line and on a terminal."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from ic3sync.db.views import ChangePage, ChangeRow
from ic3sync.errors import VendorRejected
from ic3sync.innomaint.models import parse_response
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.logs import JsonFormatter, TextFormatter
from ic3sync.mapping import rows_from_response
from ic3sync.model import AssetOutcome, AssetRef, SyncResult
from ic3sync.sync.asset import ERROR_LIMIT, sync_one
from ic3sync.terminal import print_changes, print_summary
from tests.unit.fakes import FakeFetcher, FakeRunStore, register

SERIAL = "Plant 01_PUMP_01"
# A set-title sequence, a colour and a bell: what a vendor's text must never do to a terminal.
ESCAPES = "\x1b]0;pwned\x07\x1b[31mred"
FORGED = "x\r\n2026-01-01 00:00:00 WARNING ic3sync.api: FORGED dashboard login"


def answer_with(**data: object) -> str:
    payload = asset_payload(SERIAL)
    payload["response"]["data"].update(data)
    return json.dumps(payload)


def test_a_lone_surrogate_becomes_the_replacement_character_and_its_leaf_is_named():
    answer = parse_response(answer_with(criticality="x\ud800y"))
    assert answer.response.data.value("criticality") == "x\ufffdy"
    assert answer.notes == ("invalid Unicode replaced with U+FFFD in data.criticality",)
    rows = rows_from_response(SERIAL, answer)
    assert rows.master["criticality"] == "x\ufffdy"
    assert "invalid Unicode replaced with U+FFFD in data.criticality" in rows.notes


def test_a_nul_is_replaced_and_named_instead_of_cutting_the_text():
    answer = parse_response(answer_with(barcode="ab\u0000cd"))
    assert answer.response.data.value("barcode") == "ab\ufffdcd"
    assert answer.notes == ("NUL replaced with U+FFFD in data.barcode",)


def test_control_characters_become_spaces_in_stored_text():
    answer = parse_response(answer_with(criticality=f"High{FORGED}\t{ESCAPES}\x9b2J\x7f"))
    value = answer.response.data.value("criticality")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value), value
    assert value.startswith("Highx  2026-01-01") and "FORGED" in value
    assert answer.notes == ()  # a control character is replaced, not worth a note


def test_a_string_over_the_cap_is_cut_and_the_cut_named():
    answer = parse_response(answer_with(barcode="b" * 5000), max_field_chars=300)
    assert answer.response.data.value("barcode") == "b" * 300
    assert answer.notes == ("cut to 300 characters: data.barcode (5,000 characters)",)


def test_every_leaf_is_cut_keys_and_nested_values_included():
    body = json.loads(answer_with())
    body["response"]["performance"]["k" * 3000] = ["v" * 3000]
    answer = parse_response(json.dumps(body), max_field_chars=256)
    sent = answer.response.performance.sent()  # type: ignore[union-attr]
    assert ("k" * 256) in sent and sent["k" * 256] == ["v" * 256]
    assert len(answer.notes) == 1 and "(3,000 characters)" in answer.notes[0]


def test_the_notes_of_many_leaves_stay_one_short_line():
    body = json.loads(answer_with())
    data = body["response"]["data"]
    for key in list(data):
        if isinstance(data[key], str) and key != "serialnumber":
            data[key] += "\ud800"
    (note,) = parse_response(json.dumps(body)).notes
    assert note.startswith("invalid Unicode replaced with U+FFFD in data.")
    assert " more" in note and len(note) < 400


def test_an_ordinary_answer_has_nothing_to_note():
    assert parse_response(answer_with()).notes == ()


@pytest.mark.parametrize("message", [FORGED + ESCAPES, "m" * 4_000_000])
def test_a_status_false_message_is_one_capped_line(message: str):
    body = json.dumps({"status": False, "message": message})
    with pytest.raises(VendorRejected) as caught:
        parse_response(body, clean=lambda text: text)
    reason = caught.value.reason
    assert reason.startswith('API answered "status": false: ')
    assert "\r" not in reason and "\n" not in reason and "\x1b" not in reason
    assert len(reason) <= 250


def test_a_serial_mismatch_shows_both_serials_cut_to_100_characters():
    huge = "S" * (4 * 1024 * 1024)
    answer = parse_response(answer_with(serialnumber=huge), max_field_chars=1_000_000)
    fetcher = FakeFetcher({SERIAL: json.loads(answer_with(serialnumber=huge))})
    store = FakeRunStore(register(SERIAL))
    outcome = sync_one(AssetRef(1, SERIAL, None), fetcher, store)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.startswith("API answered for serialnumber 'SSSS")
    assert len(outcome.error) < 300, len(outcome.error)
    with pytest.raises(Exception, match=r"'\.\.\. \(1,000,000 characters\)") as caught:
        rows_from_response(SERIAL, answer)
    assert len(str(caught.value)) < 300


def test_a_log_rows_message_has_a_total_cap():
    data = {f"x{i}": "\ud800" for i in range(50)}
    body = json.loads(answer_with())
    body["response"]["data"].update(data)
    for i in range(300):
        body["response"]["data"][f"noted_{i:03d}_" + "n" * 60] = "v\u0000"
    # Many odd leaves: the notes alone name 5 a kind; the total cap bounds the rest.
    fetcher = FakeFetcher({SERIAL: body})
    store = FakeRunStore(register(SERIAL))
    outcome = sync_one(AssetRef(1, SERIAL, None), fetcher, store)
    assert outcome.status == "success"
    assert outcome.error is not None and len(outcome.error) <= ERROR_LIMIT


def test_a_reason_over_the_total_cap_is_cut_before_it_is_stored():
    class Loud(FakeFetcher):
        def fetch(self, serialnumber: str):  # type: ignore[no-untyped-def]
            raise VendorRejected("r" * 50_000, kind="bad_answer")

    store = FakeRunStore(register(SERIAL))
    outcome = sync_one(AssetRef(1, SERIAL, None), Loud(), store)
    assert outcome.status == "failed"
    assert store.log[-1].error is not None and len(store.log[-1].error) == ERROR_LIMIT


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("ic3sync.innomaint", logging.WARNING, __file__, 1, message, (), None)


def test_a_text_log_line_shows_control_characters_escaped():
    line = TextFormatter().format(_record(f"asset failed: {FORGED}{ESCAPES}\x9b\ud800"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x9b" not in line
    assert "\\x0d\\x0a2026-01-01" in line and "\\x1b]0;pwned\\x07" in line
    line.encode("utf-8")  # no lone surrogate left to fail the write


def test_a_json_log_line_carries_no_raw_control_character():
    line = JsonFormatter().format(_record(f"asset failed: {FORGED}{ESCAPES}\x9b\ud800"))
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line), line
    line.encode("utf-8")
    assert json.loads(line)["message"].endswith("red\x9b\ud800")


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, color_system=None, force_terminal=False), buffer


@pytest.mark.parametrize("terminal", [False, True])
def test_the_failure_summary_shows_escape_sequences_escaped(terminal: bool):
    result = SyncResult(run_id=3, total=1, failed=1)
    result.errors.append(f"{SERIAL}: HTTP 400: {ESCAPES}{FORGED}")
    result.error = f"stopped: {ESCAPES}"
    console, buffer = _console()
    if terminal:
        console = Console(file=buffer, width=200, color_system=None, force_terminal=True)
    print_summary(result, console)
    shown = buffer.getvalue()
    assert "\x1b]" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b]0;pwned\\x07" in shown.replace("\n", "")


def test_the_changes_table_shows_escape_sequences_escaped():
    change = ChangeRow(
        change_id=1,
        asset_id=1,
        cmms_asset_id=SERIAL,
        run_id=2,
        table_name="ic3_asset_master",
        column_name="criticality",
        old_value=f"High{ESCAPES}",
        new_value="Low\r\nforged",
        changed_at=datetime(2026, 1, 1, tzinfo=UTC),
        source="cmms",
    )
    console, buffer = _console()
    print_changes(ChangePage(items=[change], total=1, limit=50, offset=0), ZoneInfo("UTC"), console)
    shown = buffer.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b]0;pwned\\x07" in shown and "Low\\x0d\\x0aforged" in shown


def test_an_outcome_is_unaffected_when_nothing_was_odd():
    store = FakeRunStore(register(SERIAL))
    outcome = sync_one(AssetRef(1, SERIAL, None), FakeFetcher(), store)
    assert (outcome.status, outcome.error) == ("success", None)
    assert isinstance(store.log[-1], AssetOutcome)

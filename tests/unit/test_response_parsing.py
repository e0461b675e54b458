"""parse_response reads the usual answer in one pass (pydantic's JSON reader) and reads anything
else again the long way. Both ways must agree: for any body hypothesis draws, valid or not, the
answer (its values and their types) or the reason it is refused are those of the long way
alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ic3sync.errors import VendorRejected
from ic3sync.innomaint.models import AssetResponse, parse_response
from ic3sync.innomaint.safe_text import SafeText
from tests.conftest import examples

TOKEN = "tok-3f9c2a"


def _redact(text: str) -> str:
    return text.replace(TOKEN, "[REDACTED]")


def _reference(body: str) -> AssetResponse:
    """The long way: json.loads, every string cleaned and made safe, the checks, then the
    model."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise VendorRejected("unreadable", kind="reference") from None
    safe = SafeText()

    def cleaned(value: Any) -> Any:
        if isinstance(value, str):
            return safe(_redact(value), "")
        if isinstance(value, dict):
            return {safe(_redact(k), ""): cleaned(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cleaned(v) for v in value]
        return value

    payload = cleaned(payload)
    if not isinstance(payload, dict) or payload.get("status") is not True:
        raise VendorRejected("refused", kind="reference")
    if payload.get("response_code") not in (None, 200, "200"):
        raise VendorRejected("refused", kind="reference")
    try:
        return AssetResponse.model_validate(payload)
    except ValidationError:
        raise VendorRejected("refused", kind="reference") from None


def _typed(value: Any) -> Any:
    """`value` with the type of every leaf beside it: 1, 1.0 and True must not compare equal."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, repr(value))


def _outcome(parse: Any, body: str) -> Any:
    try:
        answer = parse(body)
    except VendorRejected:
        return "refused"
    return _typed(answer.model_dump())


leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([TOKEN, f"x{TOKEN}y", "8526:06:43", "200", ""]),
)
value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
section = st.dictionaries(
    st.sampled_from(["serialnumber", "mttr", "id", TOKEN, "upto", "last_year", "x"]),
    value,
    max_size=5,
)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    response: dict[str, Any] = {}
    if draw(st.booleans()):
        response["data"] = draw(section | value)
    for name in ("performance", "workorder_transactional"):
        if draw(st.booleans()):
            response[name] = draw(
                section | st.fixed_dictionaries({"upto": section, "last_year": section}) | value
            )
    answer: dict[str, Any] = {
        "status": draw(st.sampled_from([True, True, True, False, 1, "true", None])),
        "response_code": draw(st.sampled_from([200, 200, "200", 200.0, 404, "x", None, [200]])),
        "response": draw(st.just(response) | value),
    }
    for key in draw(st.lists(st.sampled_from(["status", "response_code"]), max_size=1)):
        del answer[key]
    body = json.dumps(answer, ensure_ascii=draw(st.booleans()), allow_nan=True)
    cut = draw(st.sampled_from(["whole", "whole", "whole", "cut", "trailing", "duplicate"]))
    if cut == "cut":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif cut == "trailing":
        body += draw(st.sampled_from([" x", ",", "\n", "}", " {}"]))
    elif cut == "duplicate":
        body = body[:-1] + ', "status": ' + draw(st.sampled_from(["true", "false"])) + "}"
    return body


@settings(
    max_examples=examples(100, 400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(bodies())
@example('{"status": true, "response": {"data": {"serialnumber": "A"}}}')
@example('{"status": false, "response": {"data": {"serialnumber": "A"}}}')
@example('{"status": true, "response_code": 404, "response": {"data": {}}}')
@example('{"status": true, "response": {"data": {"x": NaN, "y": 1e400, "z": 1.0}}}')
@example('{"status": true, "response": {"data": {"a": 1}, "data": {"a": 2}}}')
@example('{"status": true, "response": {"data": {"a": "' + TOKEN + '"}}}')
@example('{"status": true, "response": {"data": {"a": "\\u0074ok-3f9c2a"}}}')
@example("[]")
@example('{"status": true, "response": {"data": []}}')
def test_any_body_is_read_as_the_long_way_reads_it(body: str) -> None:
    expected = _outcome(_reference, body)
    # As the client calls it (the raw text redacted first), and on a body not redacted before.
    for got in (
        _outcome(lambda b: parse_response(_redact(b), clean=_redact), body),
        _outcome(lambda b: parse_response(b, clean=_redact), body),
    ):
        assert got == expected
        assert TOKEN not in repr(got)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('{"status": true, "response": {"data": {}}} trailing', "not_json"),
        ('{"status": false, "message": "no such asset"}', "status_false"),
        ('{"status": true, "response_code": 500, "response": {"data": {}}}', "bad_answer"),
        ('{"status": true, "response": {"data": "text"}}', "bad_answer"),
        ("[" * 5000 + "]" * 5000, "bad_answer"),
    ],
)
def test_a_refused_body_keeps_its_reason(body: str, kind: str) -> None:
    with pytest.raises(VendorRejected) as caught:
        parse_response(body, clean=_redact)
    assert caught.value.kind == kind

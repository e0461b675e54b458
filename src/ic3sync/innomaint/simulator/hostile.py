"""The bodies of the simulator's hostile-value faults: an answer whose every text is broken
Unicode, holds a NUL or control characters, is a megabyte long, or echoes the token in one of
the forms a vendor may write it in."""

from __future__ import annotations

import base64
import html
import json
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from ic3sync.innomaint.simulator.payloads import asset_payload

# Set into every text of an answer: a lone surrogate as PHP's json_encode writes broken UTF-16,
# a NUL, and what would forge a log line and drive a terminal (a title, a colour, a bell).
SURROGATE = "\ud800"
NUL = "\x00"
CONTROLS = "\r\n2026-01-01 00:00:00 WARNING ic3sync.api: FORGED\x1b]0;pwned\x07\x1b[31m\x9b2J"
_KEEP = frozenset({"serialnumber", "id", "traceid"})


def token_forms(token: str) -> list[str]:
    """`token` as a vendor may echo it: as is, in either case, URL-encoded (either case of hex,
    `+` for space), as HTML entities (all, or only its punctuation), in base64 (standard and
    URL-safe, with and without padding, alone or inside a header value)."""
    raw = token.encode()
    b64 = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    header = base64.b64encode(b"Bearer " + raw).decode()
    return [
        token,
        token.upper(),
        token.lower(),
        quote(token, safe=""),
        quote(token, safe="").lower(),
        quote_plus(token, safe=""),
        unquote_plus(token),  # a vendor that read the token as a form value: "+" as a space
        html.escape(token),
        "".join(f"&#{ord(c)};" for c in token),
        "".join(c if c.isalnum() else f"&#x{ord(c):X};" for c in token),
        b64,
        b64.rstrip("="),
        urlsafe,
        urlsafe.rstrip("="),
        header.rstrip("="),
    ]


def _texts(payload: dict[str, Any], value: Any, *, numbers: bool = False) -> dict[str, Any]:
    """`payload` with `value(old)` in place of every text of data, performance and work orders
    (and every number too with `numbers`) but the serialnumber and ids, whose change would make
    the answer about another asset."""
    body = payload["response"]
    for section in (body["data"], body["performance"], *body["workorder_transactional"].values()):
        for key, old in list(section.items()):
            if key not in _KEEP and (isinstance(old, str) or (numbers and old is not None)):
                section[key] = value(old)
    return payload


def hostile_values_body(fault: dict[str, Any], serialnumber: str, token: str) -> bytes:
    """The answer of a hostile-value fault (a spec of faults.py) for `serialnumber`."""
    kind, mb = fault["kind"], fault.get("mb", 1)
    payload = asset_payload(serialnumber)
    if kind == "surrogates":
        _texts(payload, lambda v: f"{v}{SURROGATE}x")
    elif kind == "nul":
        _texts(payload, lambda v: f"ab{NUL}cd{v}")
    elif kind == "control_chars":
        _texts(payload, lambda v: f"{v}{CONTROLS}")
    elif kind == "huge_values":
        filler = "v" * int(mb * 1024 * 1024)
        _texts(payload, lambda v: filler, numbers=True)
    elif kind == "huge_serial":
        payload["response"]["data"]["serialnumber"] = "S" * int(mb * 1024 * 1024)
    elif kind == "echo_forms":
        echoes = iter(token_forms(token) * 4)
        _texts(payload, lambda v: f"x {next(echoes, token)} y")
    elif kind == "echo_message":
        forms = token_forms(token)
        message = f"invalid token {forms[int(fault['form']) % len(forms)]}\r\nFORGED line"
        payload = {"status": False, "response_code": 200, "message": message, "response": {}}
    else:
        raise AssertionError(f"not a hostile-value fault: {kind}")
    # ensure_ascii writes the lone surrogate as the \ud800 escape a PHP vendor sends.
    return json.dumps(payload).encode()


HOSTILE_VALUE_FAULTS = frozenset(
    {
        "surrogates",
        "nul",
        "control_chars",
        "huge_values",
        "huge_serial",
        "echo_forms",
        "echo_message",
    }
)

"""Pydantic models of the getAssetIDDetailByAssetID response.

The models fix the *shape* (which sections exist and that they are objects) and keep every leaf
value as the API sent it. Turning "8526:06:43" or "abc" into numbers is mapping.py's job, so a bad
leaf never makes a whole answer unreadable: it becomes NULL and is named in the log row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from ic3sync.controls import one_line
from ic3sync.errors import VendorRejected
from ic3sync.innomaint.safe_text import DEFAULT_MAX_FIELD_CHARS, SafeText, needs_care


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def value(self, name: str) -> Any:
        """The raw value of a field, None when the API did not send it."""
        extra = self.__pydantic_extra__
        if extra and name in extra:
            return extra[name]
        return getattr(self, name, None)

    def sent(self) -> Mapping[str, Any]:
        """Every field the API sent, declared ones included, by name: for a caller that reads
        many, `.get(name)` is value(name) at the cost of a dict lookup, for any name that is no
        attribute of the model class (a method or a setting of pydantic's)."""
        extra = self.__pydantic_extra__ or {}
        if not self.__dict__:
            return extra
        # A copy of the extra fields (a block copy) with the few declared ones added is several
        # times cheaper than a merge that inserts every key. No declared field is extra as well.
        merged = extra.copy()
        merged.update(self.__dict__)
        return merged


class AssetData(_Section):
    serialnumber: Any = None


class Performance(_Section):
    pass


class WorkorderPeriod(_Section):
    pass


class Workorder(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    upto: WorkorderPeriod | None = None
    last_year: WorkorderPeriod | None = None


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    data: AssetData
    performance: Performance | None = None
    workorder_transactional: Workorder | None = None


class AssetResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Any = None
    response_code: Any = None
    response: ResponseBody
    _notes: tuple[str, ...] = PrivateAttr(default=())

    @property
    def notes(self) -> tuple[str, ...]:
        """What making its text safe changed (see safe_text), for the asset's log row."""
        return self._notes


def _cleaned(value: Any, clean: Callable[[str], str], safe: SafeText, where: str = "") -> Any:
    """`value` with `clean`, then `safe`, applied to every string in it, keys included; `where`
    names the leaf as the log row does ("data.barcode")."""
    if isinstance(value, str):
        return safe(clean(value), where or "top level")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = safe(clean(k), f"a key of {where or 'the answer'}")
            path = f"{where}.{key}" if where else key
            if path.startswith("response."):
                path = path[len("response.") :]
            out[key] = _cleaned(v, clean, safe, path)
        return out
    if isinstance(value, list):
        return [_cleaned(v, clean, safe, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _unchanged(text: str) -> str:
    return text


def _needs_care(value: Any, max_chars: int) -> bool:
    """Whether any string in `value` (a section's fields, keys included) is to be made safe."""
    if isinstance(value, str):
        return needs_care(value, max_chars)
    if isinstance(value, dict):
        return any(needs_care(k, max_chars) or _needs_care(v, max_chars) for k, v in value.items())
    if isinstance(value, list):
        return any(_needs_care(v, max_chars) for v in value)
    return False


def _safe_as_sent(body: bytes | str, max_chars: int) -> bool:
    """Whether no string of `body` can need care, told from the body whole. Without a
    backslash a JSON text has no escapes: each of its strings, keys included, is a piece of it
    between two quotes, with no character the body lacks and no longer than the longest such
    piece. A body with a control character anywhere, whitespace between tokens included, is
    checked string by string."""
    if not isinstance(body, str) or "\\" in body or needs_care(body, len(body)):
        return False
    return max(map(len, body.split('"'))) <= max_chars


def _sections(answer: AssetResponse) -> list[_Section]:
    body = answer.response
    sections: list[_Section | None] = [body.data, body.performance]
    if body.workorder_transactional is not None:
        sections += [body.workorder_transactional.upto, body.workorder_transactional.last_year]
    return [s for s in sections if s is not None]


# The response codes of an answer that is a success ("status": true without one is, too).
_SUCCESS_CODES = (None, 200, "200")


def parse_response(
    body: bytes | str,
    *,
    http_status: int | None = None,
    clean: Callable[[str], str] | None = None,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
) -> AssetResponse:
    """Validate a 200 answer, `clean` (the redactor) then SafeText applied to every decoded
    string, which is cut at `max_field_chars`. Raises VendorRejected with a short reason when it
    is unusable.

    A body without a backslash has no escapes: each decoded string is then a piece of the body
    as it came, so a body that cleaning leaves as it is needs no cleaning string by string. One
    that cleaning changes is read string by string from the body as it came: the redactor may
    have decoded it whole (a token in an encoding of its own), which could break its JSON."""
    fast = clean is None or (isinstance(body, str) and "\\" not in body and clean(body) == body)
    if fast:
        # The usual answer, read and validated in one pass by pydantic's own JSON reader (a
        # third cheaper than json.loads and a validation of its dict). Whatever it refuses, or
        # an answer that is not a success, is read again below, which says why.
        try:
            answer = AssetResponse.model_validate_json(body)
        except ValidationError:
            pass
        else:
            if (
                answer.status is True
                and answer.response_code in _SUCCESS_CODES
                # Nearly every answer has nothing to make safe; the few that do are read again.
                and (
                    _safe_as_sent(body, max_field_chars)
                    or not any(_needs_care(s.sent(), max_field_chars) for s in _sections(answer))
                )
            ):
                return answer
    safe = SafeText(max_field_chars)
    try:
        payload = _cleaned(json.loads(body), clean or _unchanged, safe)
    except (ValueError, UnicodeDecodeError):
        raise VendorRejected(
            "response is not JSON", kind="not_json", http_status=http_status
        ) from None
    except RecursionError:
        # A body of thousands of nested brackets: Python's parser gives up on the depth, and
        # the asset must fail with a reason, not take the run down.
        raise VendorRejected(
            "response is JSON nested too deeply to read", kind="bad_answer", http_status=http_status
        ) from None
    if not isinstance(payload, dict):
        raise VendorRejected(
            "response is not a JSON object", kind="bad_answer", http_status=http_status
        )
    if payload.get("status") is not True:
        message = payload.get("message") or payload.get("msg")
        # Made safe above: no CR/LF left to forge a log line with, and cut again to a reason.
        detail = f": {one_line(message)[:200]}" if isinstance(message, str) and message else ""
        raise VendorRejected(
            f'API answered "status": false{detail}', kind="status_false", http_status=http_status
        )
    code = payload.get("response_code")
    if code not in _SUCCESS_CODES:
        shown = repr(code)
        raise VendorRejected(
            f"API answered response_code {shown if len(shown) <= 60 else shown[:57] + '...'}",
            kind="bad_answer",
            http_status=http_status,
        )
    try:
        answer = AssetResponse.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise VendorRejected(
            f"response has an unexpected shape at {where or 'top level'}: {first.get('msg')}",
            kind="bad_answer",
            http_status=http_status,
        ) from None
    answer._notes = safe.notes()
    return answer

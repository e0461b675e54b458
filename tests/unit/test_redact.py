"""The one redactor, through the two places that send a server's text on: the Innomaint client
(a vendor echoing the token in a `"status": false` message) and the notifier (a failure reason
quoting it). Each form a server may send the token back in is tried."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from ic3sync.errors import VendorRejected
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.notify import Failure, Notifications, RunNotice, WebhookNotifier
from ic3sync.redact import Redactor, redact

# Characters that URL-encoding, JSON and HTML each change.
TOKEN = "tok/3f9c+1a7e55d0=4b2a&x<y>'q\"z"
URL = "https://innomaint.test/api/getAssetIDDetailByAssetID"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ECHOES = {
    "as is": TOKEN,
    "url-encoded, upper-case hex": quote(TOKEN, safe=""),
    "url-encoded, lower-case hex": quote(TOKEN, safe="").lower(),
    "json-escaped": json.dumps(TOKEN)[1:-1],
    "html entities": html.escape(TOKEN),
    "numeric html entities": "".join(f"&#{ord(c)};" for c in TOKEN),
    "base64": b64(TOKEN),
    "base64 inside a header value": b64(f"Bearer {TOKEN}"),
    "base64 after two bytes": b64(f"x:{TOKEN}"),
    "url-safe base64": base64.urlsafe_b64encode(TOKEN.encode()).decode(),
    "url-encoded, mixed case": quote(TOKEN, safe="").replace("%2F", "%2f"),
    "upper-case": TOKEN.upper(),
    "lower-case": TOKEN.lower(),
}


def leaks(text: str) -> list[str]:
    """The forms of the token still in `text`, the base64 ones by their decoded content."""
    found = [name for name, echo in ECHOES.items() if echo in text]
    return found + (["the token"] if TOKEN in text else [])


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_the_redactor_removes_every_form_of_the_token(echo: str) -> None:
    text = f"refused: [{echo}] (see logs)"
    cleaned = redact(text, TOKEN)
    assert echo not in cleaned and "***" in cleaned
    assert cleaned.startswith("refused: [") and cleaned.endswith("] (see logs)")


def test_the_redactor_leaves_other_text_alone() -> None:
    text = "HTTP 400: serialnumber 'Delhi Cantt Naraina_BP_01' unknown; try again"
    assert Redactor([TOKEN, "tok-1234567890"])(text) == text


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_the_client_stores_no_form_of_an_echoed_token(echo: str) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        body = {"status": False, "message": f"invalid token {echo}"}
        return httpx.Response(200, json=body)

    client = InnomaintClient(
        url=URL, token=SecretStr(TOKEN), rate_ms=0, transport=httpx.MockTransport(vendor)
    )
    with client, pytest.raises(VendorRejected) as caught:
        client.fetch("A1")
    assert caught.value.kind == "status_false"
    assert "false: invalid token " in caught.value.reason and "***" in caught.value.reason
    assert leaks(caught.value.reason) == [], caught.value.reason


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_the_notifier_sends_no_form_of_the_token(echo: str) -> None:
    sent: list[str] = []

    def hook(request: httpx.Request) -> httpx.Response:
        sent.append(request.content.decode())
        return httpx.Response(200)

    webhook = WebhookNotifier(
        SecretStr("https://hooks.example.org/services/T0/B0/key"),
        transport=httpx.MockTransport(hook),
    )
    notice = RunNotice(
        run_id=7,
        status="completed",
        trigger="cli",
        total=1,
        success=0,
        failed=1,
        skipped=0,
        duration_ms=10,
        error=f"vendor said {echo}",
        failures=[Failure("A1", f"status false: {echo}", "status_false")],
    )
    (delivery,) = Notifications([webhook], redact=Redactor([TOKEN]), backoff_s=0).deliver(notice)
    assert delivery.ok
    # The JSON body escapes what it carries: the texts are read back before they are searched.
    body = json.loads(sent[0])
    texts = [body["text"], body["error"], body["failures"][0]["reason"], sent[0]]
    assert all(leaks(text) == [] for text in texts), texts


def test_a_fixture_answer_is_unchanged_by_the_redactor() -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures"
    text = (fixture / "asset_detail_Delhi_Cantt_Naraina_BP_01.json").read_text()
    assert redact(text, "tok-3f9c1a7e55d04b2a8c6e") == text

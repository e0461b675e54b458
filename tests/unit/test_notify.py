"""Notices and their delivery without a network: what they say, how their channels are read
from the settings, what is retried, and that no secret gets through."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from ic3sync.config import Settings
from ic3sync.errors import ConfigError
from ic3sync.metrics import SyncMetrics
from ic3sync.model import SyncResult
from ic3sync.notify import (
    Failure,
    MailNotifier,
    Notifications,
    Redactor,
    RunNotice,
    WebhookNotifier,
    is_problem,
    notifiers_from,
    parse_addresses,
    parse_smtp_url,
    sample_notice,
    secrets_of,
)

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"


def _notice(**kw: object) -> RunNotice:
    values: dict[str, object] = dict(
        run_id=7,
        status="completed",
        trigger="schedule",
        total=100,
        success=97,
        failed=3,
        skipped=0,
        duration_ms=20512,
        failures=[Failure(f"A{i}", f"HTTP 404 for A{i}", "http_404") for i in range(3)],
        run_url="https://ic3.example.org/runs/7",
    )
    values.update(kw)
    return RunNotice(**values)  # type: ignore[arg-type]


def test_one_asset_is_one_asset_not_one_assets():
    notice = _notice(total=1, success=1, failed=0, failures=[], changes={"criticality": 1})
    assert "Trigger: schedule. 1 asset in 21 s." in notice.text()
    assert "Changed: criticality: 1 asset" in notice.text()
    assert ". 1 asset in " in notice.html()


def test_the_sample_notice_links_to_a_page_that_exists_not_to_run_0():
    notice = sample_notice("https://ic3.example.org/")
    assert notice.run_url == "https://ic3.example.org/runs"
    assert "/runs/0" not in notice.text() + notice.html()


def test_the_subject_and_text_carry_status_counts_failures_and_link():
    notice = _notice(changes={"criticality": 3, "in_charge_person": 12})
    assert notice.subject == "ic3sync run 7 completed with failures: 97 ok, 3 failed, 0 skipped"
    text = notice.text()
    assert "Trigger: schedule. 100 assets in 21 s." in text
    assert "Changed: criticality: 3 assets, in_charge_person: 12 assets" in text
    assert "- A2: HTTP 404 for A2 [http_404]" in text
    assert text.endswith("Run: https://ic3.example.org/runs/7")
    body = notice.as_json()
    assert body["changes_url"] == "https://ic3.example.org/runs/7#run-changes"
    assert body["counts"] == {"total": 100, "success": 97, "failed": 3, "skipped": 0}


def test_a_notice_lists_its_failures_and_says_how_many_more():
    text = _notice(failed=25).text()
    assert "New failures:\n- A0:" in text and text.count("\n- A") == 3
    assert "... and 22 more" in text


def test_the_html_escapes_what_the_vendor_sent():
    html = _notice(failures=[Failure("<b>x</b>", "<script>", "other")]).html()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_without_a_public_url_there_is_no_link():
    notice = _notice(run_url=None, changes={"barcode": 1})
    assert "Run:" not in notice.text() and notice.as_json()["changes_url"] is None


def test_a_notice_counts_new_and_old_failures_by_kind_and_lists_the_new_first():
    since = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    notice = _notice(
        failed=5,
        failures=[
            Failure("NEW-1", "HTTP 404", "http_404"),
            Failure("OLD-1", "HTTP 404", "http_404", runs=9, since_run=3, since=since),
        ],
        new_by_kind={"http_404": 1, "timeout": 1},
        still_by_kind={"http_404": 3},
    )
    lines = notice.text().splitlines()
    assert lines[1] == "New failures: 2 (http_404 1, timeout 1); still failing: 3 (http_404 3)"
    assert lines[lines.index("New failures:") + 1] == "- NEW-1: HTTP 404 [http_404]"
    assert lines[lines.index("Still failing:") + 1] == (
        "- OLD-1: HTTP 404 [http_404], failing since run 3 on 2026-11-30, 9 runs"
    )
    assert "... and 3 more" in lines
    html = notice.html()
    assert html.index("<h3>New failures</h3>") < html.index("<h3>Still failing</h3>")
    assert "failing since run 3 on 2026-11-30, 9 runs" in html
    body = notice.as_json()
    assert body["new_failures"] == {"count": 2, "by_kind": {"http_404": 1, "timeout": 1}}
    assert body["still_failing"] == {"count": 3, "by_kind": {"http_404": 3}}
    assert body["failures"][1]["failing_since"] == "2026-11-30T20:30:00+00:00"
    assert (body["failures"][1]["failing_since_run"], body["failures"][1]["failed_runs"]) == (3, 9)


@pytest.mark.parametrize(
    ("status", "untold", "single_asset", "told"),
    [
        ("completed", 1, False, True),  # a new failure
        ("completed", 0, False, False),  # every failure failing already, and told
        ("completed", None, False, True),  # the log unread: every failure counts
        ("aborted", 0, False, True),
        ("interrupted", 0, False, True),
        ("cancelled", 3, False, False),  # an operator stopped it
        ("completed", 1, True, False),  # a sync-one
        ("aborted", 0, True, False),
    ],
)
def test_problems_tells_new_failures_aborted_and_interrupted_runs_only(
    status, untold, single_asset, told
):
    notice = _notice(status=status, untold=untold, single_asset=single_asset)
    assert notice.is_problem is told
    assert Notifications([], notify_on="problems").tells(notice) is told
    assert Notifications([], notify_on="always").tells(notice) is True


@pytest.mark.parametrize(
    ("status", "failed", "problem"),
    [("completed", 0, False), ("completed", 1, True), ("aborted", 0, True),
     ("interrupted", 0, True), ("cancelled", 0, False), ("cancelled", 2, False)],
)  # fmt: skip
def test_problems_are_failed_assets_aborted_and_interrupted_runs(status, failed, problem):
    assert is_problem(SyncResult(run_id=1, status=status, failed=failed)) is problem


def test_smtp_url_gives_host_port_login_and_sender():
    server = parse_smtp_url(SecretStr("smtp://alerts%40example.org:p%40ss@mail.example.org:2525"))
    assert (server.host, server.port, server.user) == (
        "mail.example.org",
        2525,
        "alerts@example.org",
    )
    assert server.password is not None and server.password.get_secret_value() == "p@ss"
    assert server.sender == "alerts@example.org" and not server.implicit_tls
    default = parse_smtp_url(SecretStr("smtp://u:p@mail.example.org?from=ic3@example.org"))
    assert (default.port, default.sender) == (587, "ic3@example.org")
    assert parse_smtp_url(SecretStr("smtps://u:p@mail.example.org")).port == 465


@pytest.mark.parametrize("url", ["http://u:pw-9x@h:587", "smtp://u:pw-9x@h:port", "pw-9x"])
def test_a_bad_smtp_url_is_named_without_its_password(url):
    with pytest.raises(ConfigError, match="IC3_SMTP_URL") as caught:
        parse_smtp_url(SecretStr(url))
    assert "pw-9x" not in str(caught.value)


def test_an_smtp_plain_url_is_a_relay_on_port_25_without_tls():
    relay = parse_smtp_url(SecretStr("smtp+plain://relay.corp.example?from=ic3@example.org"))
    assert (relay.host, relay.port, relay.user, relay.password) == (
        "relay.corp.example",
        25,
        None,
        None,
    )
    assert relay.plain and not relay.implicit_tls and relay.sender == "ic3@example.org"
    assert not parse_smtp_url(SecretStr("smtp://u:p@mail.example.org")).plain


@pytest.mark.parametrize(
    "url", ["smtp+plain://u:pw-9x@relay:25", "smtp+plain://u@relay:25", "smtp+plain://:pw-9x@r"]
)
def test_an_smtp_plain_url_with_credentials_is_refused_at_start_without_the_password(url):
    settings = Settings(notify_email_to="ops@example.org", smtp_url=url)
    with pytest.raises(ConfigError, match=r"^IC3_SMTP_URL: smtp\+plain:// sends without TLS"):
        notifiers_from(settings)
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url(SecretStr(url))
    assert "pw-9x" not in str(caught.value)


def test_an_smtp_ca_file_is_checked_at_start_like_the_vendors(tmp_path, monkeypatch):
    from ic3sync.config import get_settings

    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    for value in (str(tmp_path / "missing.pem"), str(junk)):
        monkeypatch.setenv("IC3_SMTP_CA_FILE", value)
        get_settings.cache_clear()
        with pytest.raises(ConfigError) as caught:
            get_settings()
        assert str(caught.value).startswith(
            f"invalid configuration: IC3_SMTP_CA_FILE: {value!r} is not a readable CA bundle"
        )
    get_settings.cache_clear()
    assert Settings(smtp_ca_file="  ").smtp_ca_file is None


@pytest.mark.parametrize("port", ["port", "99999"])
def test_an_smtp_port_that_is_no_port_says_what_a_port_is(port):
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url(SecretStr(f"smtp://u:pw-9x@h:{port}"))
    assert str(caught.value) == "IC3_SMTP_URL has a port that is not a number from 0 to 65535"


def test_mail_addresses_may_be_separated_by_commas_semicolons_or_spaces():
    assert parse_addresses("a@x.org, b@y.org;c@z.org  d@w.org") == [
        "a@x.org",
        "b@y.org",
        "c@z.org",
        "d@w.org",
    ]
    with pytest.raises(ConfigError, match="'nobody' is not a mail address"):
        parse_addresses("ops@example.org, nobody")


def test_half_a_mail_configuration_is_refused_at_start():
    with pytest.raises(ConfigError, match="IC3_SMTP_URL"):
        notifiers_from(Settings(notify_email_to="ops@example.org"))
    with pytest.raises(ConfigError, match="IC3_NOTIFY_EMAIL_TO"):
        notifiers_from(Settings(smtp_url="smtp://u:p@h:587"))
    both = notifiers_from(
        Settings(
            notify_email_to="a@x.org b@x.org", smtp_url="smtp://u:p@h:587", notify_webhook_url=HOOK
        )
    )
    assert [n.describe() for n in both] == [
        "webhook to hooks.slack.com",
        "mail to 2 addresses via h:587",
    ]


def test_blank_variables_mean_not_configured_and_notify_on_is_checked():
    settings = Settings(notify_webhook_url=" ", smtp_url="", notify_email_to="")
    assert notifiers_from(settings) == []
    with pytest.raises(ValueError, match=r"notify_on|IC3_NOTIFY_ON"):
        Settings(notify_on="sometimes")


def test_the_redactor_hides_every_secret_and_its_quoted_form():
    settings = Settings(
        api_token="tok-1234567890",
        smtp_url="smtp://me:pa%24%24word@h:587",
        notify_webhook_url=HOOK,
    )
    redact = secrets_of(settings)
    path = "/services/T000/B000/XXXXsecretXXXX"
    text = redact(f"tok-1234567890 pa$$word pa%24%24word {HOOK} POST {path} failed")
    assert text == "*** *** *** *** POST *** failed"
    assert Redactor([None, "", SecretStr("abc")])("abc") == "abc"  # too short to be a secret


def _webhook(handler) -> WebhookNotifier:  # type: ignore[no-untyped-def]
    return WebhookNotifier(SecretStr(HOOK), transport=httpx.MockTransport(handler))


def _sender(*notifiers, **kw) -> tuple[Notifications, SyncMetrics]:  # type: ignore[no-untyped-def]
    metrics = SyncMetrics()
    return Notifications(notifiers, metrics=metrics, backoff_s=0, **kw), metrics


def test_a_5xx_is_retried_three_times_then_logged_and_counted(caplog):
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(503)

    sender, metrics = _sender(_webhook(answer))
    with caplog.at_level(logging.INFO, logger="ic3sync"):
        (delivery,) = sender.deliver(_notice())
    assert len(calls) == 4 and not delivery.ok and delivery.attempts == 4
    assert delivery.detail == "webhook to hooks.slack.com: HTTP 503"
    text = metrics.render().decode()
    assert 'outcome="retried"} 3.0' in text and 'outcome="failed"} 1.0' in text
    assert "XXXXsecretXXXX" not in caplog.text


def test_a_4xx_is_not_retried_and_a_retry_that_succeeds_is_sent():
    sender, _ = _sender(_webhook(lambda r: httpx.Response(404)))
    assert sender.deliver(_notice())[0].attempts == 1
    answers = iter([httpx.Response(502), httpx.Response(200)])
    sender, metrics = _sender(_webhook(lambda r: next(answers)))
    delivery = sender.deliver(_notice())[0]
    assert delivery.ok and delivery.attempts == 2
    assert 'outcome="sent"} 1.0' in metrics.render().decode()


def test_a_channel_that_breaks_never_raises_out_of_delivery():
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("bug with " + HOOK)

    sender, _ = _sender(_webhook(broken))
    (delivery,) = sender.deliver(_notice())
    assert not delivery.ok and delivery.detail.endswith("unexpected RuntimeError")


def test_a_secret_in_a_failure_reason_is_redacted_before_it_is_sent():
    seen = []
    sender = Notifications(
        [_webhook(lambda r: seen.append(r.content.decode()) or httpx.Response(200))],
        redact=Redactor(["tok-1234567890"]),
    )
    sender.deliver(
        _notice(error="echoed tok-1234567890", failures=[Failure("A", "tok-1234567890", "x")])
    )
    assert "tok-1234567890" not in seen[0] and seen[0].count("***") >= 2


def test_the_mail_is_plain_text_and_html_with_status_in_the_subject():
    mail = MailNotifier(
        parse_smtp_url(SecretStr("smtp://a@x.org:pw@h:587")), ["o@x.org", "p@x.org"]
    )
    msg = mail.message(sample_notice("https://ic3.example.org"))
    assert (
        msg["Subject"]
        == "[sample] ic3sync run 0 completed with failures: 1 ok, 2 failed, 0 skipped"
    )
    assert msg["To"] == "o@x.org, p@x.org" and msg["From"] == "a@x.org"
    types = [p.get_content_type() for p in msg.walk()]
    assert types == ["multipart/alternative", "text/plain", "text/html"]
    assert "pw" not in msg.as_string()


def test_a_webhook_429_is_retried_after_its_retry_after():
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200)])
    times: list[float] = []

    def hook(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return next(answers)

    sender, _ = _sender(_webhook(hook))  # no back-off of its own: only the server's wait
    delivery = sender.deliver(_notice())[0]
    assert delivery.ok and delivery.attempts == 2
    assert times[1] - times[0] >= 0.3


def test_a_retry_after_longer_than_an_attempt_is_capped_at_one():
    answers = iter([httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)])
    sender, _ = _sender(_webhook(lambda r: next(answers)), timeout_s=0.2)
    started = time.monotonic()
    assert sender.deliver(_notice())[0].ok
    assert time.monotonic() - started < 5

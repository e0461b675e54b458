"""Real receivers for notifications: an SMTP server (aiosmtpd) that speaks STARTTLS with a
certificate of a throwaway CA and wants a login, and an HTTP server that records webhook POSTs
and can answer slowly or with an error."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.procs import free_port

SMTP_USER = "ic3sync@example.org"
SMTP_PASSWORD = "smtp-pass-7d1e4b9a-Secret"


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    tls: bool
    login: str | None

    def part(self, subtype: str) -> str:
        for p in self.message.walk():
            if p.get_content_type() == f"text/{subtype}":
                return p.get_content()
        raise AssertionError(f"no text/{subtype} part in the mail")


@dataclass
class MailHandler:
    mails: list[ReceivedMail] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(
            ReceivedMail(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(envelope.content, policy=policy.default),  # type: ignore[arg-type]
                raw=envelope.content,
                tls=session.ssl is not None,
                login=session.auth_data.decode() if session.authenticated else None,
            )
        )
        self.arrived.set()
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login.decode() == SMTP_USER
        and data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


@dataclass
class SmtpServer:
    port: int
    handler: MailHandler
    client_tls: ssl.SSLContext
    ca_file: Path

    def url(self, password: str = SMTP_PASSWORD) -> str:
        return f"smtp://{SMTP_USER.replace('@', '%40')}:{password}@127.0.0.1:{self.port}"

    @property
    def mails(self) -> list[ReceivedMail]:
        return self.handler.mails

    def wait(self, n: int = 1, timeout: float = 15) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.mails) >= n, f"{len(self.mails)} mails arrived, wanted {n}"
        return self.mails


@contextmanager
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """A STARTTLS-only SMTP server with login on a free port; `client_tls` (or `ca_file` as
    IC3_SMTP_CA_FILE or SSL_CERT_FILE) is the only thing that trusts its certificate."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    handler = MailHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    controller.start()
    try:
        yield SmtpServer(port, handler, client_tls, ca_file)
    finally:
        controller.stop()


@dataclass
class SmtpRelay:
    """An internal relay: no TLS, no login, mail from anyone on the network."""

    port: int
    handler: MailHandler

    def url(self) -> str:
        return f"smtp+plain://127.0.0.1:{self.port}"

    @property
    def mails(self) -> list[ReceivedMail]:
        return self.handler.mails


@contextmanager
def smtp_relay() -> Iterator[SmtpRelay]:
    """A plain SMTP server on a free port that offers neither STARTTLS nor AUTH."""
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpRelay(port, handler)
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0

    def wait(self, n: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.bodies) >= n, f"{len(self.bodies)} webhook calls, wanted {n}"
        return self.bodies


@contextmanager
def webhook_receiver(
    path: str = "/hooks/T0001/B0002/aXbYcZ-webhook-secret", *, status: int = 200, delay_s: float = 0
) -> Iterator[WebhookReceiver]:
    """An HTTP server on a free port that records the JSON POSTed to it."""
    port = free_port()
    receiver = WebhookReceiver(f"http://127.0.0.1:{port}{path}", status=status, delay_s=delay_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receiver.paths.append(self.path)
            receiver.bodies.append(json.loads(body))
            time.sleep(receiver.delay_s)
            try:
                self.send_response(receiver.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # a sender that gave up on a slow answer, as the slow-webhook tests expect

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

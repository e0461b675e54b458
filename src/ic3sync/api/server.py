"""`ic3sync serve`: check where it may listen, then run the app under uvicorn with a SIGTERM
that cancels the run in flight before the server drains its connections."""

from __future__ import annotations

import logging
import socket
from types import FrameType

import uvicorn

from ic3sync.api.app import create_app
from ic3sync.api.deps import loopback_name
from ic3sync.bootstrap import bootstrap
from ic3sync.config import Settings
from ic3sync.db.engine import redact_url
from ic3sync.errors import ConfigError
from ic3sync.runs import RunManager

log = logging.getLogger("ic3sync.api")

# Time uvicorn gives open requests (a waiting POST /sync among them) after SIGTERM.
GRACEFUL_S = 5


# An admin token others can reach must not be guessable: 24 characters of a random token
# (`python -c "import secrets; print(secrets.token_urlsafe(32))"`) are far out of reach. A
# long one made by hand ("aaaa…", "password1234…") is not: below LONG_ADMIN_TOKEN_CHARS it
# must also hold MIN_ADMIN_TOKEN_DISTINCT different characters.
MIN_ADMIN_TOKEN_CHARS = 24
MIN_ADMIN_TOKEN_DISTINCT = 10
LONG_ADMIN_TOKEN_CHARS = 32


def check_bind(settings: Settings, host: str) -> None:
    """Without an admin token anyone who can reach the port could start syncs: loopback only;
    on any other address the token must be long and varied enough not to be guessed. A token
    an HTTP header cannot carry is refused wherever the service listens: no call could
    present it."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    # Printable ASCII only: a client sends "ñ" as it likes and the server reads Latin-1.
    if not (token.isascii() and token.isprintable()):
        raise ConfigError(
            "IC3_ADMIN_TOKEN holds characters an HTTP header cannot carry (only printable "
            "ASCII), so no call to the admin API could present it: set a token of letters, "
            "digits, - and _ (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if loopback_name(host):
        return
    if settings.admin_token is None:
        raise ConfigError(
            f"IC3_ADMIN_TOKEN is not set, so the admin service will not listen on {host!r}, "
            "which other machines can reach: set IC3_ADMIN_TOKEN, or serve on 127.0.0.1"
        )
    length = len(token)
    if length < MIN_ADMIN_TOKEN_CHARS:
        raise ConfigError(
            f"IC3_ADMIN_TOKEN has {length} characters; on {host!r}, which other machines can "
            f"reach, it must have at least {MIN_ADMIN_TOKEN_CHARS}: set a long random token"
        )
    distinct = len(set(token))
    if distinct < MIN_ADMIN_TOKEN_DISTINCT and length < LONG_ADMIN_TOKEN_CHARS:
        raise ConfigError(
            f"IC3_ADMIN_TOKEN uses only {distinct} different characters; on {host!r}, which "
            f"other machines can reach, a token shorter than {LONG_ADMIN_TOKEN_CHARS} "
            f"characters must use at least {MIN_ADMIN_TOKEN_DISTINCT} different ones: set a "
            "random token (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts. uvicorn would log a busy port
    among its start-up lines and exit; this names it in one ConfigError instead."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a restart must not wait for the old connections' TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; another process (an "
            "ic3sync serve?) holds it: stop it or pass another --port"
        ) from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, manager: RunManager) -> None:
        super().__init__(config)
        self.manager = manager

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Before uvicorn waits for open requests: a POST /sync waiting on the run would
        # otherwise hold the shutdown until its run ended by itself.
        self.manager.cancel_all()
        super().handle_exit(sig, frame)


def run_server(settings: Settings, *, host: str, port: int) -> None:
    check_bind(settings, host)
    sock = bind(host, port)
    port = sock.getsockname()[1]  # the one it got when asked for 0 (any free one)
    # Alembic announces its context at INFO each time /healthz reads the schema revision.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Refuses an outdated schema; starts on an unreachable database (/healthz answers 503).
    wiring = bootstrap(settings, schema="if_reachable")
    app = create_app(wiring)
    manager: RunManager = app.state.manager
    log.info(
        "admin service on http://%s:%d, database %s; admin token %s",
        f"[{host}]" if ":" in host else host,  # an IPv6 address, as a URL writes it
        port,
        redact_url(settings.database_url),
        "required" if settings.admin_token else "not set (loopback only)",
    )
    if settings.api_token is None:
        log.warning("INNOMAINT_API_TOKEN is not set: sync triggers will answer 503 until it is")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_S,
        server_header=False,
        # X-Forwarded-Proto and -For are believed only from IC3_TRUSTED_PROXIES (uvicorn's
        # default would trust 127.0.0.1): with it, the scheme decides the cookie's Secure flag.
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies or "",
    )
    try:
        _Server(config, manager).run(sockets=[sock])
    finally:
        sock.close()
        wiring.engine.dispose()

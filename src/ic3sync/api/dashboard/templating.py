"""The dashboard's templates: the Jinja environment and its filters, and `render`, which adds
what every page shows (zone, login state, flash messages) and the security headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from ic3sync import __version__, labels
from ic3sync.api import present
from ic3sync.api.dashboard.sessions import has_session
from ic3sync.config import Settings
from ic3sync.durations import duration
from ic3sync.schedule import parse_timezone

# Pages may load only what the app serves; inline scripts never run, even if escaping failed.
# The headers every answer carries (nosniff, no framing, no-store) come from api/headers.py.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def flash(request: Request, level: str, text: str, link: str | None = None) -> None:
    """A message for the next page shown, kept in the signed session cookie."""
    messages = list(request.session.get("flash", []))
    messages.append({"level": level, "text": text, "link": link})
    request.session["flash"] = messages[-5:]


def quote_id(cmms_asset_id: str) -> str:
    # Ids contain spaces and may contain '/', '#' or '?': every character but letters,
    # digits and -._~ is encoded.
    return quote(cmms_asset_id, safe="")


def asset_url(cmms_asset_id: str) -> str:
    return "/assets/" + quote_id(cmms_asset_id)


def words(text: str) -> Markup:
    """An id that may wrap at its spaces only: browsers also break after "/", "(" or "-"."""
    return Markup(" ").join(
        Markup('<span class="word">{}</span>').format(w) for w in text.split(" ")
    )


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ic3sync.api", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration,
        number=present.number,
        decimal=present.decimal,
        money=present.money,
        asset_url=asset_url,
        quote_id=quote_id,
        words=words,
        label=labels.label,
    )
    env.globals["split_reason"] = present.split_reason
    env.tests["unusable_for"] = lambda value, column: present.unusable(column, value)
    env.tests["datetime"] = lambda value: isinstance(value, datetime)
    return env


_env = environment()


def query_string(request: Request, **changes: Any) -> str:
    """This page's query string with some parameters changed (None drops one)."""
    params = dict(request.query_params)
    params.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        params.pop(key, None)
    params = {k: v for k, v in params.items() if v not in ("", None)}
    return "?" + urlencode(params) if params else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    zone = parse_timezone(settings.timezone)

    def when(value: datetime | None) -> Markup:
        # The date and the time may go on two lines; neither ever breaks inside.
        text = present.local_time(value, zone)
        if value is None:
            return Markup(text)
        day, _, clock = text.partition(" ")
        return Markup(
            '<time datetime="{}"><span class="word">{}</span> <span class="word">{}</span></time>'
        ).format(value.isoformat(), day, clock)

    # A live refresh must not eat the messages meant for the next page the operator opens.
    show_flashes = not is_live(request) and "flash" in request.session
    flashes = request.session.pop("flash") if show_flashes else []
    html = _env.get_template(template).render(
        request=request,
        path=request.url.path,
        zone=zone.key,
        when=when,
        query=lambda **kw: query_string(request, **kw),
        version=__version__,
        login_required=settings.admin_token is not None,
        logged_in=has_session(request),
        flashes=flashes,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def is_live(request: Request) -> bool:
    """A refresh of a page's live part by dashboard.js, which wants the fragment only."""
    return request.headers.get("x-live") == "1"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)

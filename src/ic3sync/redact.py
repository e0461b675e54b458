"""The one redactor: every secret replaced by `***` in any form a server may send it back in,
before a text is logged, raised, stored or sent (contract rule 8)."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from pydantic import SecretStr

from ic3sync.urls import strip_credentials

REDACTED = "***"
# A base64 form shorter than this could match ordinary text by chance.
_SHORTEST_BASE64 = 8


def forms_of(secret: str) -> set[str]:
    """`secret` as it may come back: as is, URL-encoded, JSON-escaped, as HTML entities, in
    base64 at any alignment. Matching ignores case, so upper- and lower-cased echoes and either
    case of hexadecimal digits are covered by the one form."""
    forms = {secret, unquote(secret), unquote_plus(secret)}
    forms |= {quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1].replace("/", "\\/"))
    forms.add("".join(f"\\u{ord(c):04x}" for c in secret if ord(c) <= 0xFFFF))
    forms.add(html.escape(secret))
    forms.add("".join(f"&#{ord(c)};" for c in secret))
    forms.add("".join(f"&#x{ord(c):x};" for c in secret))
    forms |= _base64_forms(secret.encode())
    return {form for form in forms if form}


def _base64_forms(raw: bytes) -> set[str]:
    """The characters of base64 that depend on `raw` alone, whatever came before it in the
    encoded text (0, 1 or 2 bytes modulo 3) and whatever follows it."""
    forms = set()
    for before in range(3):
        encoded = base64.b64encode(b"\0" * before + raw).decode()
        start = -(-8 * before // 6)  # the first character no prefix bit reaches
        end = 8 * (before + len(raw)) // 6  # the last one whole within the secret, excluded
        core = encoded[start:end]
        if len(core) >= _SHORTEST_BASE64:
            forms.add(core)
            forms.add(core.translate(str.maketrans("+/", "-_")))  # the URL-safe alphabet
    return forms


class Redactor:
    """Replaces every form of every configured secret in a text by `***`; the last line of
    defence for texts that come from elsewhere (a vendor's reason, a server's reply)."""

    def __init__(self, secrets: Iterable[SecretStr | str | None], *, min_length: int = 4) -> None:
        forms: set[str] = set()
        for secret in secrets:
            raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if raw and len(raw) >= min_length:
                forms |= forms_of(raw)
        # Longest first, so a URL that contains a password loses the whole URL.
        self.values = sorted(forms, key=len, reverse=True)
        self._lowered = [value.lower() for value in self.values]
        self._pattern = re.compile("|".join(map(re.escape, self.values)), re.IGNORECASE)

    def __call__(self, text: str) -> str:
        # A search of the lower-cased text for each form first: a case-blind regex over every
        # answer costs a hundred times more, and nearly no text holds a secret.
        lowered = text.lower()
        if any(value in lowered for value in self._lowered):
            text = self._pattern.sub(REDACTED, text)
        return self._decoded(text) if ("%" in text or "&" in text) else text

    def _decoded(self, text: str) -> str:
        """`text` decoded, and redacted, when the secret hides in an encoding no form foresees:
        escaped in part (only its "/" as `&#x2F;`, only some letters as `%41`), in named
        entities, or in several encodings one inside the other."""
        decoded = text
        for _ in range(3):
            decoded = unquote(html.unescape(decoded))
            lowered = decoded.lower()
            if any(value in lowered for value in self._lowered):
                return self._pattern.sub(REDACTED, decoded)
        return text


def redact(text: str, secret: str) -> str:
    """`text` without `secret` in any of its forms."""
    return Redactor([secret], min_length=1)(text)


class RedactingFilter(logging.Filter):
    """Rewrites a log record with the secrets and any URL's credentials removed, before any
    handler sees it (httpx logs every request's URL at INFO)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = strip_credentials(self._redact(message))
        if clean != message:
            record.msg = clean
            record.args = None
        return True

"""How InnomaintClient puts one request on the wire and takes its answer back.

A wire's `post(body)` sends the POST and returns (status, headers, content): the content read
whole but never past the size cap, everything within the attempt's deadline, no decompression.
Its failures leave as httpx's exceptions (a timeout, a connection error, a protocol error), or as
TooLarge, so that one mapping in client.py turns the failures of either wire into VendorErrors.

- LeanWire, the default: one kept-alive socket of our own, the request written in one piece, the
  common answer (HTTP/1.1, one Content-Length) parsed here and every other one by http.client.
  A request costs it a fraction of the CPU time httpx takes (bench/http_clients.py), and the
  sync makes one request per asset, one after another.
- HttpxWire: an httpx transport given to the client (tests put a scripted vendor there).
"""

from __future__ import annotations

import base64
import http.client
import io
import re
import select
import socket
import ssl
import threading
import time
from typing import Protocol, cast

import httpx

# Each socket read waits at most this long before the attempt's deadline and the cancel event
# are looked at again: a vendor that drips bytes, or says nothing, cannot outlast either.
READ_SLICE_S = 0.25
# The largest piece of an answer without a declared length read at once.
CHUNK = 64 * 1024
# http.client's bounds on an answer's head: a line of at most 65536 bytes, at most 100 lines
# with the blank one that ends them. The common answer's head stays inside both (the whole head
# within HEAD_LIMIT, at most MAX_FIELDS fields); any other head goes to http.client, which
# reads it under the same bounds and refuses what exceeds them.
HEAD_LIMIT = 65536
MAX_FIELDS = 99
# The headers of every request besides Authorization. The size cap counts what is read off the
# wire: no compression to multiply it.
REQUEST_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "User-Agent": "ic3sync",
}


class Headers(Protocol):
    """What the client reads of an answer's headers (case-insensitive names)."""

    def get(self, name: str, /) -> str | None: ...


class Wire(Protocol):
    # When the latest request had left, as far as the wire can tell (time.monotonic()).
    sent_at: float

    def post(self, body: bytes) -> tuple[int, Headers, bytes]: ...

    def close(self) -> None: ...


class TooLarge(Exception):
    """The answer declared, or sent, more than the cap."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Deadline:
    """The deadline and the cancel event of the request in flight, which the wires obey."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.at = float("inf")

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def check(self) -> float:
        """The seconds left, more than 0. Raises httpx's errors, so a stop and a spent deadline
        map as a hang-up and a timeout do."""
        if self.cancel.is_set():
            raise httpx.ReadError("stopped while waiting for the Innomaint API")
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpx.ReadTimeout("the attempt's deadline has passed")
        return left


def refuse_declared(status: int, headers: Headers, cap: int) -> None:
    """TooLarge when the answer announces more than `cap` bytes, before any of it is read."""
    declared = headers.get("Content-Length") or ""
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(status)


# -- the default wire ----------------------------------------------------------------------------


class Unanswered(Exception):
    """The vendor hung up a kept-alive connection as it was reused, before a byte of the answer:
    it had closed the connection while idle (its close crossed the request), so the request
    may go again on a new connection. A reset (RST) is not this: it is the vendor's own
    transient fault, retried as a new attempt."""


def _recv_into(sock: socket.socket, buffer: memoryview, deadline: Deadline) -> int:
    """What has come, read in slices of READ_SLICE_S between which the deadline and the cancel
    event are checked. A slice that times out has read nothing, so it is simply tried again."""
    while True:
        left = deadline.check()
        wait = READ_SLICE_S if left > READ_SLICE_S else max(left, 0.001)
        # Setting a timeout is a system call: made only when the slice changes, which it does
        # not until the deadline is nearer than a slice.
        if sock.gettimeout() != wait:
            sock.settimeout(wait)
        try:
            return sock.recv_into(buffer)
        except TimeoutError:
            continue


class _SlicedReader(io.RawIOBase):
    """The socket as http.client reads it, in slices (_recv_into), after the bytes of the
    answer already read from it. Counts what it gave, those bytes included."""

    def __init__(self, sock: socket.socket, deadline: Deadline, already: bytes) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self._already = already
        self.received = len(already)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if already := self._already:
            count = min(len(buffer), len(already))
            buffer[:count] = already[:count]
            self._already = already[count:]
            return count
        count = _recv_into(self._sock, buffer, self._deadline)
        self.received += count
        return count


class _Fields:
    """The header fields of a common answer, read as http.client's message reads them: a name
    matched without regard to case, the first of a repeated field, its value as sent after the
    colon and the spaces or tabs that follow it."""

    __slots__ = ("_first",)

    def __init__(self, first: dict[str, str]) -> None:
        """`first`: the value of each lower-cased name's first field."""
        self._first = first

    def get(self, name: str, default: str | None = None, /) -> str | None:
        return self._first.get(name.lower(), default)


# The head of the common answer: an HTTP/1.1 status line, then fields ("name:value", the name
# a token as the email package reads one), every line ended by CRLF, then the blank line that
# ends the head (group 3; None while more of the head is to come). A bare CR or LF, a folded
# or nameless line or another version does not match: http.client reads those.
_HEAD = re.compile(rb"HTTP/1\.1 ([0-9]{3})(?: [^\r\n]*)?\r\n((?:[!-9;-~]+:[^\r\n]*\r\n)*)(\r\n)?")
# Statuses whose answer has no body whatever its Content-Length says: http.client's to read.
_BODILESS = frozenset({204, 304})

# (status, headers, content, whether the connection ends with this answer)
_Answer = tuple[int, Headers, bytes, bool]


class _Source:
    """What http.client.HTTPResponse reads from: it asks only for a file."""

    __slots__ = ("_file",)

    def __init__(self, file: io.BufferedReader) -> None:
        self._file = file

    def makefile(self, mode: str) -> io.BufferedReader:
        return self._file


class LeanWire:
    """One connection to the vendor, kept open between requests; a vendor that closed it while
    idle is noticed before the next request, which goes on a new one. Nothing is logged, and the
    token lives only in the request's prefix, in no local variable a traceback could show."""

    def __init__(self, url: str, authorization: str, deadline: Deadline, cap: int) -> None:
        parsed = httpx.URL(url)
        self._deadline = deadline
        self._cap = cap
        self._address = (parsed.raw_host.decode("ascii"), parsed.port or _PORTS[parsed.scheme])
        self._tls: ssl.SSLContext | None = None
        if parsed.scheme == "https":
            # httpx's context: the same certificate authorities as before (SSL_CERT_FILE too).
            self._tls = httpx.create_ssl_context()
            self._tls.set_alpn_protocols(["http/1.1"])
        if parsed.userinfo:
            # As httpx does: credentials in the URL are sent as Basic authorization.
            pair = f"{parsed.username}:{parsed.password}".encode()
            authorization = "Basic " + base64.b64encode(pair).decode()
        headers = {
            "Host": parsed.netloc.decode("ascii"),
            "Connection": "keep-alive",
            "Authorization": authorization,
            **REQUEST_HEADERS,
        }
        self._head = b"POST %s HTTP/1.1\r\n%sContent-Length: " % (
            parsed.raw_path,
            "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode(),
        )
        self._sock: socket.socket | None = None
        self._idle = select.poll()  # watches the kept-alive socket between requests
        self.sent_at = 0.0
        # A head is read into this buffer, never past its end; a body longer than what came
        # with its head goes into a buffer of its own.
        self._answer = bytearray(HEAD_LIMIT)
        self._answer_view = memoryview(self._answer)

    def __repr__(self) -> str:
        return f"LeanWire({self._address[0]}:{self._address[1]})"

    def post(self, body: bytes) -> tuple[int, Headers, bytes]:
        """Raises Unanswered only on a reused connection; the next post opens a new one."""
        try:
            sock = self._kept()
            if sock is not None:
                return self._exchange(sock, body, reused=True)
            return self._exchange(self._connect(), body, reused=False)
        except BaseException:
            self.close()  # an answer not read to its end leaves nothing to reuse
            raise

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _kept(self) -> socket.socket | None:
        """The kept-alive socket, unless the vendor closed it or sent what nobody asked for:
        either leaves something to read on the idle socket."""
        sock = self._sock
        if sock is not None and (
            self._idle.poll(0) or (isinstance(sock, ssl.SSLSocket) and sock.pending())
        ):
            self.close()
            return None
        return sock

    def _connect(self) -> socket.socket:
        deadline = self._deadline
        deadline.check()
        try:
            sock = socket.create_connection(self._address, max(deadline.remaining(), 0.001))
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from None
        try:
            # A request is headers then body: without TCP_NODELAY the body can wait on an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock.settimeout(max(deadline.remaining(), 0.001))
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except TimeoutError:
            sock.close()
            raise httpx.ConnectTimeout("timed out") from None
        except OSError as exc:
            sock.close()
            raise httpx.ConnectError(str(exc)) from None
        self._idle = select.poll()
        self._idle.register(sock, select.POLLIN)
        self._sock = sock
        return sock

    def _exchange(
        self, sock: socket.socket, body: bytes, *, reused: bool
    ) -> tuple[int, Headers, bytes]:
        left = self._deadline.check()
        try:
            sock.settimeout(left)
            sock.sendall(self._head + b"%d\r\n\r\n%s" % (len(body), body))
            self.sent_at = time.monotonic()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out") from None
        except OSError as exc:
            if reused and isinstance(exc, ConnectionError):
                raise Unanswered from None
            raise httpx.WriteError(str(exc)) from None
        try:
            answer = self._common_answer(sock)
            if isinstance(answer, bytes):
                answer = self._any_answer(sock, answer, reused=reused)
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from None
        except http.client.HTTPException as exc:
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from None
        status, headers, content, will_close = answer
        if will_close:
            self.close()
        return status, headers, content

    def _common_answer(self, sock: socket.socket) -> _Answer | bytes:
        """The answer when it is the common one: HTTP/1.1, a status from 200 to 599 that may
        have a body, a plain head within http.client's bounds, one Content-Length (maybe
        repeated) in digits and no Transfer-Encoding. Any other answer is http.client's to
        read: then the bytes of it read so far."""
        data, view, deadline = self._answer, self._answer_view, self._deadline
        received = 0
        while True:
            count = _recv_into(sock, view[received:], deadline)
            if count == 0:  # the end of the stream: http.client says what it makes of it
                return bytes(view[:received])
            seen, received = received, received + count
            if received < HEAD_LIMIT and data.find(b"\n", seen, received) < 0:
                continue  # no line of the head ended, so none to look at again
            head = _HEAD.match(data, 0, received)
            if head is None or head.group(2).count(b"\n") > MAX_FIELDS:
                return bytes(view[:received])
            if head.group(3) is not None:
                break
            # A line ended that is no field of a common head, or the head has no end in sight.
            if data.find(b"\n", head.end(), received) >= 0 or received == HEAD_LIMIT:
                return bytes(view[:received])
        status = int(head.group(1))
        if not 200 <= status < 600 or status in _BODILESS:
            return bytes(view[:received])
        lines = head.group(2).decode("latin-1").split("\r\n")
        del lines[-1]  # the nothing after the last field's CRLF
        first: dict[str, str] = {}
        lengths: set[str] = set()
        for line in reversed(lines):  # so that the first of a repeated name is written last
            name, _, value = line.partition(":")
            name = name.lower()
            first[name] = value = value.lstrip(" \t")
            if name == "content-length":
                lengths.add(value)
        # One length, maybe repeated, and no transfer coding; any other framing is read by
        # http.client, and lengths that differ or are not in digits refused by _read_body.
        declared = lengths.pop() if len(lengths) == 1 else ""
        if not _is_digits(declared) or "transfer-encoding" in first:
            return bytes(view[:received])
        length = int(declared)
        if length > self._cap:
            raise TooLarge(status)
        connection = first.get("connection")
        will_close = connection is not None and "close" in connection.lower()  # as http.client
        start = head.end()
        end = start + length
        if end <= HEAD_LIMIT:
            body = view[start:end]  # the rest of the body comes into the buffer, after its head
        else:
            body = memoryview(bytearray(length))
            body[: received - start] = view[start:received]
        have = min(received, end) - start
        while have < length:
            count = _recv_into(sock, body[have:], deadline)
            if count == 0:
                raise http.client.IncompleteRead(bytes(body[:have]), length - have)
            have += count
        # Bytes after the answer, which nobody asked for, put the connection out of step.
        return status, _Fields(first), bytes(body), will_close or received > end

    def _any_answer(self, sock: socket.socket, already: bytes, *, reused: bool) -> _Answer:
        """The answer read by http.client, `already` being the bytes of it read before."""
        reader = _SlicedReader(sock, self._deadline, already)
        source = cast(socket.socket, _Source(io.BufferedReader(reader)))
        response = http.client.HTTPResponse(source, method="POST")
        try:
            response.begin()
        except http.client.RemoteDisconnected:  # the end of the stream before a status line
            if reused and reader.received == 0:
                raise Unanswered from None
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response."
            ) from None
        content = self._read_body(response)
        return response.status, response.msg, content, response.will_close

    def _read_body(self, response: http.client.HTTPResponse) -> bytes:
        """The body, never read past the cap, whether its length is declared or not."""
        # As strict as httpx was: one length, in digits (http.client alone would take "+5").
        lengths = set(response.msg.get_all("Content-Length") or ())
        if lengths and (len(lengths) > 1 or not _is_digits(next(iter(lengths)))):
            raise httpx.RemoteProtocolError("malformed Content-Length")
        refuse_declared(response.status, response.msg, self._cap)
        if response.length is not None:
            return response.read()  # a declared length within the cap, read in one go
        cap = self._cap
        body = bytearray()
        while chunk := response.read(min(CHUNK, cap + 1 - len(body))):
            body += chunk
            if len(body) > cap:
                raise TooLarge(response.status)
        return bytes(body)


_PORTS = {"http": 80, "https": 443}


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# -- a given httpx transport ---------------------------------------------------------------------


class HttpxWire:
    """The request through httpx, on the transport the client was given. Its token sits in the
    client's default headers, whose repr httpx masks."""

    def __init__(
        self,
        url: str,
        authorization: str,
        transport: httpx.BaseTransport,
        deadline: Deadline,
        cap: int,
        timeout_s: float,
    ) -> None:
        self._url = url
        self._deadline = deadline
        self._cap = cap
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            headers={"Authorization": authorization, **REQUEST_HEADERS},
            follow_redirects=False,
        )
        self.sent_at = 0.0

    def post(self, body: bytes) -> tuple[int, Headers, bytes]:
        # The transport sends out of sight: the request is taken to leave now.
        self.sent_at = time.monotonic()
        with self._http.stream("POST", self._url, content=body) as response:
            refuse_declared(response.status_code, response.headers, self._cap)
            content = bytearray()
            # Raw: a compressed answer is refused, never inflated. An answer a scripted vendor
            # made whole in memory has no raw stream left, only its content.
            chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
            for chunk in chunks:
                content += chunk
                if len(content) > self._cap:
                    raise TooLarge(response.status_code)
                # A transport of no sockets of ours is held to the deadline here.
                self._deadline.check()
        return response.status_code, response.headers, bytes(content)

    def close(self) -> None:
        self._http.close()

"""SSRF guard for outbound URLs (webhook endpoints, provider-supplied download links).

``check_url`` refuses anything that is not plain http(s) to a public address: every address the
host resolves to must be globally routable. Loopback, private, link-local (including the cloud
metadata address 169.254.169.254), multicast, reserved, unspecified, CGNAT (100.64.0.0/10) and
IPv6 forms that embed such an IPv4 address (IPv4-mapped, 6to4, NAT64) are refused.

``allow_hosts`` exempts hosts on purpose (local sandboxes, tests): an entry is a host name
(exact, case-insensitive), an IP address or a CIDR network.

The check resolves names itself; the caller should run it right before every request (a name
can change its answer between two attempts). :func:`guarded_session` closes the remaining gap
(a name that answers differently between the check and the connect, "DNS rebinding"): its
connections check the address they actually connected to, after every resolution and every
redirect, and it ignores proxy settings from the environment. :class:`OutboundGuard` carries
both with one set of allowances: every request to an address a vendor or a caller supplied
(download links, COS sources, webhooks) goes through it.

Its connections also obey :func:`shared.cutoff.cut_off_at` (a total deadline for the requests
made inside it).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import urlsplit

from shared.cutoff import watch
from shared.errors import UnsafeTargetError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

ALLOWED_SCHEMES = ("http", "https")

# Ranges refused on top of what ``ipaddress`` flags (older Pythons differ on some of these).
_BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # old site-local
        "ff00::/8",  # multicast
        "2001:db8::/32",  # documentation
        "100::/64",  # discard
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated ::a.b.c.d)
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def is_blocked_address(ip: IPAddress) -> bool:
    """True if ``ip`` (or an IPv4 address embedded in it) is not a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and is_blocked_address(inner):
            return True
        if ip.scope_id:
            return True
    if (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified):
        return True
    if any(ip.version == net.version and ip in net for net in _BLOCKED_NETWORKS):
        return True
    return not ip.is_global


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0] if "%" in text else text)
    except ValueError:
        return None


def _allow_rules(allow_hosts: Iterable[str]) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    nets: list[IPNetwork] = []
    for entry in allow_hosts:
        entry = entry.strip()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, nets


def _in_nets(ip: IPAddress, nets: list[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in nets)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTargetError(f"cannot resolve host {host!r}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        ip = _parse_ip(str(info[4][0]))
        if ip is None:
            raise UnsafeTargetError(f"host {host!r} resolved to an unparseable address")
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeTargetError(f"host {host!r} resolved to no address")
    return addresses


def check_peer(sock: socket.socket, host: str, allow_hosts: Iterable[str] = ()) -> None:
    """Raise :class:`UnsafeTargetError` if a connected socket's peer is not a public address."""
    names, nets = _allow_rules(allow_hosts)
    if host.lower().rstrip(".") in names:
        return
    try:
        peer = _parse_ip(str(sock.getpeername()[0]))
    except OSError as exc:
        raise UnsafeTargetError("cannot tell which address the connection went to") from exc
    if peer is None:
        raise UnsafeTargetError("connected to an unparseable address")
    if _in_nets(peer, nets) or not is_blocked_address(peer):
        return
    log.warning("refused connection to %s: it went to non-public address %s", host, peer)
    raise UnsafeTargetError(f"host {host!r} connected to a non-public address")


def guarded_session(allow_hosts: Iterable[str] = (), *,
                    check_peers: bool = True) -> requests.Session:
    """A ``requests.Session`` whose direct connections refuse non-public peers.

    Use it together with :func:`check_url` (which also checks scheme and every address of the
    name). The peer is checked on every new connection, so every resolution (redirects
    included) is covered. Proxy settings from the environment are ignored (``trust_env``
    off): through a proxy the peer would be the proxy, and the target went unchecked.
    Connections used inside :func:`shared.cutoff.cut_off_at` are shut down at its deadline.
    ``check_peers=False``: only that (a caller that asked for no guard, e.g. tests).
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    allowed = tuple(allow_hosts)

    def verified(conn: Any, sock: socket.socket) -> socket.socket:
        if check_peers and getattr(conn, "proxy", None) is None:
            try:
                check_peer(sock, str(conn.host), allowed)
            except UnsafeTargetError:
                sock.close()
                raise
        return sock

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = verified(self, super()._new_conn())
            watch(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            watch(getattr(self, "sock", None))  # a kept-alive connection, reused
            super().request(*args, **kwargs)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = verified(self, super()._new_conn())
            watch(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            watch(getattr(self, "sock", None))
            super().request(*args, **kwargs)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool,
                                                       "https": GuardedHTTPSPool}

    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class OutboundGuard:
    """:func:`check_url` with fixed allowances (callable as ``check_url(url)``), and the
    :func:`guarded_session` that checks the addresses actually connected to."""

    allow_hosts: tuple[str, ...] = ()

    def __call__(self, url: str) -> None:
        check_url(url, allow_hosts=self.allow_hosts)

    def session(self) -> requests.Session:
        return guarded_session(self.allow_hosts)


def check_url(url: str, *, allow_hosts: Iterable[str] = ()) -> None:
    """Raise :class:`UnsafeTargetError` unless ``url`` is safe to request from the bundle."""
    if not isinstance(url, str) or not url:
        raise UnsafeTargetError("URL must be a non-empty string")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTargetError("URL is malformed") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeTargetError(f"URL scheme {scheme or '(none)'!r} is not allowed; "
                                "use http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTargetError("URL has no host")
    if port is None:
        port = 443 if scheme == "https" else 80

    names, nets = _allow_rules(allow_hosts)
    if host in names:
        return
    for ip in resolve(host, port):
        if _in_nets(ip, nets):
            continue
        if is_blocked_address(ip):
            log.warning("refused outbound request to %s: address %s is not public", host, ip)
            raise UnsafeTargetError(f"host {host!r} resolves to a non-public address")


# Names that only ever mean something on the caller's own network (RFC 6761, 6762, 8375).
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".intranet", ".lan",
                  ".home.arpa", ".corp", ".home", ".private")
_NUMERIC_HOST = "0123456789abcdefx."


def literal_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as an IPv4 address in any form a URL parser accepts (``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``, ``127.1``); ``None`` when it is a name."""
    text = host.lower()
    if not text or not all(c in _NUMERIC_HOST for c in text) or not text[-1:].isalnum():
        return None
    if not any(c.isdigit() for c in text.rsplit(".", 1)[-1][:1]):
        return None  # the last label starts with a letter: a name ("cafe", "x.dead")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError as exc:
        raise UnsafeTargetError("host looks like an IPv4 address but is not one") from exc


def check_literal(url: str, *, allow_hosts: Iterable[str] = ()) -> None:
    """Raise :class:`UnsafeTargetError` if ``url`` can never be delivered to: not http(s), a
    literal non-public address (in any spelling), or a name that can only be local. No DNS
    look-up: names are resolved (and checked again) at every delivery."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UnsafeTargetError("URL is malformed") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeTargetError("URL must be http or https")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeTargetError("URL has no host")
    names, nets = _allow_rules(allow_hosts)
    if host in names:
        return
    ip: IPAddress | None = _parse_ip(host) or literal_ipv4(host)
    if ip is not None:
        if not _in_nets(ip, nets) and is_blocked_address(ip):
            raise UnsafeTargetError("URL points to a non-public address")
        return
    if "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        raise UnsafeTargetError(f"host {host[:60]!r} can only be a local name")


_FAILURE_WORDS = (  # (part of an exception's class name, what it means), first match wins
    ("Unsafe", "refused by the outbound-address guard"),
    ("Timeout", "timed out"),
    ("Credential", "no usable credentials"),
    ("SSL", "the TLS handshake failed"),
    ("Proxy", "the proxy failed"),
    ("Connect", "could not connect, or the connection broke"),
    ("Endpoint", "could not connect, or the connection broke"),
    ("Protocol", "the connection broke mid-answer"),
    ("IncompleteRead", "the connection broke mid-answer"),
    ("ChunkedEncoding", "the connection broke mid-answer"),
)


def failure_words(exc: BaseException) -> str:
    """What went wrong with an outbound call, in words for a person (no exception class
    names, no URL: their texts may hold a presigned query)."""
    names = [type(exc).__name__] + [c.__name__ for c in type(exc).__mro__[1:4]]
    for part, words in _FAILURE_WORDS:
        if any(part in name for name in names):
            return words
    return "the request failed before an answer came"


def redact_url(url: str, *, keep_path: bool = False) -> str:
    """``scheme://host[:port]`` of ``url`` (and its path with ``keep_path``): safe to log and
    show (no user info, query string or fragment). A chat subscriber, ``chat:<bot name>``,
    names a bot and holds no secret: it is shown as it is."""
    if url.startswith("chat:"):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "(malformed URL)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "") + \
        (parts.path if keep_path else "")

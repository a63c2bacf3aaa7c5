"""Reply+token addresses: ``consult+c17-<hmac>@domain`` names case 17 in a way no one can forge.

A reply to our answer normally finds its case by In-Reply-To/References or the ``[Case #N]`` tag,
but mail clients drop headers and people edit subjects. The Reply-To of our replies carries the
case number plus an HMAC of it under the service's secret key, so a reply addressed there joins
the right case even when every header was lost, and a stranger who guesses a case number cannot
attach mail to someone else's case. Pure: no clock, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

TOKEN_HEX = 16  # 64 bits of HMAC-SHA256: far beyond guessing by mail


def case_token(case_id: int, secret: str) -> str:
    """The HMAC of the case number (lower-case hex, ``TOKEN_HEX`` characters)."""
    mac = hmac.new(secret.encode(), f"consult-case:{case_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_HEX]


def reply_address(from_address: str, case_id: int, secret: str) -> str | None:
    """``local+c<N>-<token>@domain`` for our From address; None without a secret key."""
    local, sep, domain = from_address.rpartition("@")
    if not secret or not sep or not local:
        return None
    return f"{local}+c{case_id}-{case_token(case_id, secret)}@{domain}"


def case_from_address(address: str, from_address: str, secret: str) -> int | None:
    """The case a reply+token address names, if its token is genuine; else None."""
    if not secret:
        return None
    local, _, domain = from_address.lower().rpartition("@")
    pattern = re.compile(rf"^{re.escape(local)}\+c(\d{{1,18}})-([0-9a-f]{{{TOKEN_HEX}}})@"
                         rf"{re.escape(domain)}$")
    match = pattern.match(address.strip().lower())
    if not match:
        return None
    case_id = int(match.group(1))
    if hmac.compare_digest(match.group(2), case_token(case_id, secret)):
        return case_id
    return None


def case_from_addresses(addresses: Iterable[str], from_address: str, secret: str) -> int | None:
    """The first case named by a genuine token among ``addresses`` (To, Cc, Delivered-To...)."""
    for address in addresses:
        found = case_from_address(address, from_address, secret)
        if found is not None:
            return found
    return None

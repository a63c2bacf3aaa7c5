"""What our own receiving server said about a mail's sender (RFC 8601 Authentication-Results).

Anyone can write an ``Authentication-Results`` header into a mail, so only headers whose
authserv-id is one of ours (``CONSULT_TRUSTED_AUTHSERV_IDS``: the id the MX of the consultation
mailbox writes) count; with none configured, no verdict is trusted. The verdict is about the
From address: DMARC when the server reports it, else SPF or DKIM aligned with the From domain.
Pure: header text in, verdict out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9-]+)\s*=\s*([a-z]+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROP = re.compile(r"([a-z]+\.[a-z0-9-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class AuthVerdict:
    """The trusted results for one mail: "pass", "fail" or "" (no trusted verdict)."""

    dmarc: str = ""
    spf: str = ""
    dkim: str = ""

    @property
    def passes(self) -> bool:
        """DMARC passed, or (no DMARC result) SPF or DKIM passed for the From domain."""
        if self.dmarc:
            return self.dmarc == "pass"
        return "pass" in (self.spf, self.dkim)

    @property
    def fails(self) -> bool:
        """DMARC failed: the From address is not what the mail claims."""
        return self.dmarc == "fail"

    @property
    def label(self) -> str:
        """What the case keeps: "pass", "fail" or ""."""
        return "fail" if self.fails else "pass" if self.passes else ""


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    if not domain or not from_domain:
        return False
    return (domain == from_domain or domain.endswith("." + from_domain)
            or from_domain.endswith("." + domain))


def _results(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """authserv-id and (method, result, properties) of one header value."""
    text = _COMMENT.sub(" ", " ".join(value.split()))
    parts = text.split(";")
    authserv = parts[0].strip().split()[0].lower() if parts[0].strip() else ""
    found = []
    for part in parts[1:]:
        m = _RESULT.match(part)
        if not m:
            continue
        props = {k.lower(): v.strip('"').lower() for k, v in _PROP.findall(m.group(3))}
        found.append((m.group(1).lower(), m.group(2).lower(), props))
    return authserv, found


def verdict(header_values: Iterable[str], from_addr: str,
            trusted: frozenset[str]) -> AuthVerdict:
    """The verdict of our own server(s) on ``from_addr``; empty when none is trusted."""
    if not trusted or not from_addr:
        return AuthVerdict()
    from_domain = _domain(from_addr)
    dmarc = spf = dkim = ""
    for value in header_values:
        authserv, results = _results(value)
        if authserv not in trusted:
            continue
        for method, result, props in results:
            if method == "dmarc" and not dmarc:
                header_from = props.get("header.from", from_domain)
                if _aligned(header_from, from_domain) and result in ("pass", "fail"):
                    dmarc = result
            elif method == "spf" and spf != "pass":
                mailfrom = props.get("smtp.mailfrom", "")
                if result == "pass" and _aligned(_domain(mailfrom), from_domain):
                    spf = "pass"
                elif result in ("fail", "softfail"):
                    spf = spf or "fail"
            elif method == "dkim" and dkim != "pass":
                signer = props.get("header.d") or _domain(props.get("header.i", ""))
                if result == "pass" and _aligned(signer, from_domain):
                    dkim = "pass"
                elif result == "fail":
                    dkim = dkim or "fail"
    return AuthVerdict(dmarc, spf, dkim)

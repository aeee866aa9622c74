"""The one check for redirect targets taken from the request (next=…): same-site paths only."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_path(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default`.

    Browsers drop tabs and newlines and read a backslash as a slash, so `/\\t/evil.com` and `/\\evil.com` are
    `//evil.com`, another host: any control character or backslash refuses the target outright."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target

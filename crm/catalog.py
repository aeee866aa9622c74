"""Builds the compiled Chinese catalog (messages.mo) from the per-feature .po parts in translations/zh/parts.

Each feature keeps its own part file, so features translate their strings without editing one shared file.
Run `python -m crm.catalog` (make does it); `missing_msgids()` lets a test find untranslated strings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
LOCALE_DIR = PACKAGE / "translations" / "zh"
PARTS = LOCALE_DIR / "parts"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def merged_catalog() -> Catalog:
    catalog = Catalog(locale="zh", domain="messages")
    for part in sorted(PARTS.glob("*.po")):
        with part.open("rb") as fh:
            for message in read_po(fh, locale="zh"):
                if message.id and message.string:
                    catalog[message.id] = message
    return catalog


def build() -> Path:
    out = LOCALE_DIR / "LC_MESSAGES" / "messages.mo"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        write_mo(fh, merged_catalog())
    return out


def extracted_msgids() -> set[str]:
    """Every msgid in code and templates; walks the tree itself because Babel's walker skips `_partials/`."""
    found: set[str] = set()
    sources = [(p, "python", {}) for p in sorted((ROOT / "crm").rglob("*.py"))]
    sources += [(p, "jinja2", {"extensions": "jinja2.ext.i18n"}) for p in sorted((ROOT / "templates").rglob("*.html"))]
    for path, method, options in sources:
        for _lineno, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS,
                                                                       options=options):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def missing_msgids() -> list[str]:
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in merged_catalog() if m.id}
    return sorted(extracted_msgids() - have)


if __name__ == "__main__":
    if "--missing" in sys.argv:
        for msgid in missing_msgids():
            print(msgid)
    else:
        print(f"wrote {build()}")

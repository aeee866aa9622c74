"""Finding the forms of the HTML side: every <form> on every page the world can reach, with its fields, so a new
feature's forms are attacked without anyone listing them."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from html.parser import HTMLParser

TEXTUAL = {"text", "search", "email", "tel", "url", "password", "number", "date", "datetime-local", "time", "month",
           "textarea", "hidden", "select", ""}
_unique = itertools.count(1)
ONCE = "idempotency_key"


@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea" or "select"
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)

    def attackable(self) -> list[str]:
        return [n for n, f in self.fields.items() if f.kind in TEXTUAL and n != "csrf_token"]

    def fresh(self) -> dict[str, str]:
        """A create form's one-time token, new for each throw: with the page's own, the first accepted throw would
        be replayed to every later one, and their values would never reach the service."""
        return {ONCE: f"hostile-once-{next(_unique)}"} if ONCE in self.fields else {}

    def baseline(self) -> dict[str, str | list[str]]:
        """Values a person might plausibly send: so one hostile field at a time reaches the service."""
        return {n: v for n, f in self.fields.items() if n != "csrf_token" and (v := _plausible(f)) is not None}


def _plausible(f: Field):
    n = next(_unique)
    if f.kind == "select":
        real = [o for o in f.options if o not in ("", "0")] or f.options
        return real[:1] if f.multiple else (real[0] if real else "")
    if f.kind in ("checkbox", "radio"):
        return f.value or "y"
    if f.kind == "hidden":
        return f.value
    if f.kind == "email":
        return f"h{n}@example.com"
    if f.kind == "password":
        return "Hostile-pass-2027"
    if f.kind == "tel":
        return "13800138000"
    if f.kind == "number":
        return "1"
    if f.kind == "date":
        return "2027-03-20"
    if f.kind == "datetime-local":
        return "2027-03-20T09:00"
    if f.kind == "time":
        return "09:00"
    if f.kind in ("submit", "button", "file", "reset", "image"):
        return None
    return f"h{n}x"


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action") or self.page_url, method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._select.options.append(a.get("value", ""))
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and a["name"] in self._form.fields:
                return
            self._form.fields[a["name"]] = Field(a["name"], kind, a.get("value", ""))
        elif tag == "textarea":
            self._form.fields[a["name"]] = Field(a["name"], "textarea")
        elif tag == "select":
            self._select = Field(a["name"], "select", multiple="multiple" in a)
            self._form.fields[a["name"]] = self._select

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(page_url: str, html: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms

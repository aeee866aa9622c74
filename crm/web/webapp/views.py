"""The visit form as an installable web app: its manifest, its service worker (static/js/visit-sw.js, served
from the site's root so its scope covers the form) and the session state a page script checks before it
sends. No sign-in needed for any of them, and no personal data in them beyond "who is signed in"."""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

bp = Blueprint("webapp", __name__)

# What the form needs to open without signal (the page itself is cached when it is loaded online).
SHELL_ASSETS = ["vendor/bootstrap/css/bootstrap.min.css", "vendor/bootstrap-icons/font/bootstrap-icons.min.css",
                "css/app.css", "vendor/tom-select/dist/css/tom-select.bootstrap5.min.css",
                "vendor/bootstrap/js/bootstrap.bundle.min.js", "vendor/htmx.org/htmx.min.js", "js/app.js",
                "vendor/tom-select/dist/js/tom-select.complete.min.js", "js/pickers.js", "js/visit-form.js",
                "img/icon-192.png", "img/icon-512.png"]
WORKER = "js/visit-sw.js"
ICONS_CSS = "vendor/bootstrap-icons/font/bootstrap-icons.min.css"


@bp.route("/manifest.webmanifest")
def manifest():
    body = {"name": _("Investment Promotion CRM"), "short_name": _("Log a visit"),
            "description": _("Log a merchant visit, also without signal: it is sent when the phone is back online."),
            "start_url": url_for("interactions.create"), "scope": "/", "display": "standalone",
            "lang": "zh-CN", "background_color": "#f8f9fa", "theme_color": "#0d6efd",
            "icons": [{"src": url_for("static", filename=f"img/icon-{n}.png"), "sizes": f"{n}x{n}",
                       "type": "image/png", "purpose": "any"} for n in (192, 512)]}
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker():
    """The worker with its shell list and a version drawn from its files, so a deployment replaces the cache."""
    static = Path(current_app.static_folder)
    source, version = _worker(str(static))
    assets = [url_for("static", filename=f) for f in SHELL_ASSETS] + [
        url_for("static", filename=ICONS_CSS.rsplit("/", 1)[0] + "/") + font for font in _icon_fonts(str(static))]
    shell = {"version": version, "assets": assets,
             "form": url_for("interactions.create"), "logout": url_for("auth.logout")}
    body = f"self.CRM_SHELL = {json.dumps(shell)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new worker on every visit
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@lru_cache(maxsize=4)
def _icon_fonts(static: str) -> list[str]:
    """The icon font exactly as the icon CSS asks for it (with its ?hash), so the offline form has its icons."""
    css = (Path(static) / ICONS_CSS).read_text(encoding="utf-8")
    return [m for m in re.findall(r'url\("?([^")]+\.woff2[^")]*)"?\)', css)]


@lru_cache(maxsize=4)
def _worker(static: str) -> tuple[str, str]:
    digest = hashlib.sha256()
    for name in [WORKER, *SHELL_ASSETS]:
        path = Path(static) / name
        digest.update(path.read_bytes() if path.is_file() else name.encode())
    return (Path(static) / WORKER).read_text(encoding="utf-8"), digest.hexdigest()[:12]


@bp.route("/webapp/session")
def session_state():
    """Whether the page's user is still signed in, and a fresh CSRF token for this session (the page script
    asks before it sends a form, so an expired session or token becomes a sign-in prompt, not a lost text)."""
    signed_in = bool(current_user.is_authenticated)
    response = jsonify(signed_in=signed_in, user_id=current_user.id if signed_in else None,
                       csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response

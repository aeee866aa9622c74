"""Page latency on the demo city: signs in as a county user and times the main pages over loopback.

Usage: .venv/bin/python bench/pages.py [--base http://127.0.0.1:5000] [--repeat 20]
Start the server first (`make run`, or `flask --app wsgi crm serve`); only loopback addresses are allowed.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import re
import statistics
import time
import urllib.parse
import urllib.request

PAGES = ["/", "/leads", "/search/?q=%E5%AF%8C%E7%A1%92", "/search/?q=zsb", "/followups/mine", "/interactions/new",
         "/outreach/", "/projects/", "/projects/kanban", "/reports/annual"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--user", default="hanbin")
    parser.add_argument("--password", default="anKang-2027")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    host = urllib.parse.urlsplit(args.base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(args.base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": args.user, "password": args.password, "csrf_token": token}).encode()
    opener.open(args.base + "/login", data)
    print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
    for path in PAGES:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            with opener.open(args.base + path) as response:
                response.read()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{urllib.parse.unquote(path):<40} {statistics.median(times):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()

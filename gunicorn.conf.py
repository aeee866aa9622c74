"""gunicorn reads this file from the working directory (`gunicorn wsgi:app` in the repository; the systemd unit
and the Docker image pass `-c` with its path). deploy/ and tests/test_deploy_files.py rely on these settings.

Each worker opens the search index and reads its facet columns in the background as it starts, so the first
search a user makes in a new worker takes milliseconds instead of about a second at 100,000 leads."""
import os

# 127.0.0.1: the HTTPS proxy (nginx) on the same host is the only client; the Docker image binds 0.0.0.0.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# gthread, 4 workers × 4 threads is what docs/benchmarks.md measured (43 req/s with 50 staff at work). Each
# worker holds the search index's facet columns (about 1 GB at 100,000 leads), so more workers cost memory
# before they add speed on a small server. WEB_CONCURRENCY is gunicorn's own convention for the count.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(4, max(2, os.cpu_count() or 1)))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# A worker that stops answering its heartbeat for 60 s is replaced (gthread: a slow request in one thread does
# not stop the heartbeat; a wedged worker does). On restart, requests in flight get 30 s to finish.
timeout = 60
graceful_timeout = 30
keepalive = 5  # behind nginx's keepalive pool; nginx's proxy_read_timeout should exceed `timeout`

# One access line per request, not two: the app itself logs each request (crm/observability.py, logger
# "crm.request": method, path, status, duration, client address, request id and user id, text or JSON), so
# gunicorn's own access log is off unless GUNICORN_ACCESS_LOG names a target ("-" = stdout), e.g. to see the
# static files too, which the app's line leaves out. Errors go to stdout (the journal, `docker compose logs`).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s "%(a)s"'

# Proxy headers: the app alone decides which X-Forwarded-For/-Proto to believe. With CRM_PROXY_FIX_X_FOR=N > 0
# it wraps itself in werkzeug's ProxyFix for exactly N hops (crm/__init__.py `_trust_proxies`); with 0 it
# trusts none. gunicorn must not apply them a second time: by default it trusts X-Forwarded-Proto from
# 127.0.0.1 (and from any peer on a unix socket), which would make `CRM_PROXY_FIX_X_FOR=0` mean "trust the
# local proxy after all" and let two layers disagree about the scheme. So gunicorn trusts no peer and knows
# no forwarding headers; set CRM_PROXY_FIX_X_FOR to the number of proxies in front instead.
forwarded_allow_ips = ""
secure_scheme_headers = {}
forwarder_headers = ""


def post_worker_init(worker):
    import threading

    from crm.services import indexing

    app = worker.wsgi

    def warm():
        with app.app_context():
            try:
                indexing.search_index().warm()
            except Exception:  # noqa: BLE001  (the first search opens it instead)
                worker.log.exception("search index warm-up failed")

    threading.Thread(target=warm, name="search-warm", daemon=True).start()

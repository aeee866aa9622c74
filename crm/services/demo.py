"""The entry `flask crm seed-demo` and `flask crm demo-logins` call; the demo city itself is crm/demo/."""
from __future__ import annotations

from crm.demo import DEMO_PASSWORD, LARGE_LEADS, demo_logins, seed_demo

__all__ = ["DEMO_PASSWORD", "LARGE_LEADS", "demo_logins", "seed_demo"]

"""What every demo builder shares: the seeded random source, the day anchor, and the reference rows."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.models import County, Event, Followup, Industry, Lead, Project, User

TZ = ZoneInfo("Asia/Shanghai")
SEED = 610900  # the city's own code: any fixed number does; changing it changes every demo name


@dataclass
class Demo:
    """One seeding run. Times are relative to `today` (the Ankang date of `now`), so a city seeded on any
    day has overdue, due-today and upcoming items; names depend on the seed alone."""

    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    counties: dict[str, County] = field(default_factory=dict)  # by code
    industries: dict[str, Industry] = field(default_factory=dict)  # by code
    users: dict[str, User] = field(default_factory=dict)  # by username
    leads: list[Lead] = field(default_factory=list)
    trades: dict[Lead, str] = field(default_factory=dict)  # a firm's trade name (字号), for its projects' names
    events: list[Event] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)

    def stream(self, label: str) -> random.Random:
        """A random source of its own for one builder, so what it draws never shifts with what another
        builder drew before it (which depends on the day: how many holidays fell in the window …)."""
        return random.Random(f"{SEED}:{label}")

    @property
    def today(self) -> date:
        return self.now.astimezone(TZ).date()

    def on(self, days: int) -> date:
        return self.today + timedelta(days=days)

    def at(self, days: int, hour: int = 10, minute: int = 0) -> datetime:
        """UTC time of `hour:minute` Ankang time, `days` from today (negative: in the past)."""
        return datetime.combine(self.on(days), time(hour, minute), tzinfo=TZ).astimezone(UTC)

    def past(self, earliest_days: int, latest_days: int = 1) -> datetime:
        """A working-hours time between `earliest_days` and `latest_days` ago, never after now."""
        moment = self.at(-self.rng.randint(latest_days, earliest_days), self.rng.randint(8, 18),
                         self.rng.choice((0, 15, 30, 45)))
        return min(moment, self.now - timedelta(minutes=5))

    def later_today(self, hour: int) -> datetime:
        """`hour` o'clock today, or, when that has passed, halfway between now and midnight."""
        moment = self.at(0, hour)
        if moment > self.now:
            return moment
        return self.now + (self.at(1, 0) - self.now) / 2

    def county(self, county_id: int | None) -> County | None:
        return next((c for c in self.counties.values() if c.id == county_id), None)

    @property
    def city(self) -> County:
        return self.counties["610900"]

    @property
    def real_counties(self) -> list[County]:
        """The twelve districts, counties and zones (not the city itself)."""
        return [c for code, c in self.counties.items() if code != "610900"]

    def staff_of(self, county: County) -> list[User]:
        return [u for u in self.users.values() if u.county_id == county.id and u.role in ("county_staff",
                                                                                      "city_staff")]

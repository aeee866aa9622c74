"""The large demo city: leads (with contacts, tags and a proportional contact history) added in bulk
INSERTs of 5,000 rows, so 100,000 leads take seconds rather than an ORM flush per row."""
from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from datetime import timedelta

from pypinyin import Style, lazy_pinyin
from pypinyin.core import Pinyin
from sqlalchemy import func, select, text

from crm.demo import names
from crm.demo.city import OTHER_CHANNELS, PERSON_KINDS, STATUS_WEIGHTS
from crm.demo.context import SEED, Demo
from crm.extensions import db
from crm.models import (
    Contact,
    Interaction,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadKind,
    LeadTag,
    interaction_participants,
)
from crm.services import identity

CHUNK = 5_000
KINDS = {LeadKind.ENTERPRISE: 88, LeadKind.HOMETOWN_ENTREPRENEUR: 6, LeadKind.INTERMEDIARY: 3,
         LeadKind.FOREIGN_INVESTOR: 3}
INTERACTIONS_PER_LEAD = (0, 1, 1, 2, 2, 3)  # 1.5 on average
KIND_WEIGHTS = {InteractionKind.CALL: 30, InteractionKind.WECHAT: 22, InteractionKind.VISIT: 14,
                InteractionKind.RECEPTION: 14, InteractionKind.REVISIT: 14, InteractionKind.MEETING: 6}
SUMMARY = {InteractionKind.CALL: "电话沟通投资意向", InteractionKind.WECHAT: "微信发送招商政策",
           InteractionKind.VISIT: "上门拜访企业", InteractionKind.RECEPTION: "接待企业来访",
           InteractionKind.REVISIT: "回访企业", InteractionKind.MEETING: "项目对接座谈"}
_NOT_KEY = re.compile(r"[^a-z0-9]")


class FastPinyin:
    """identity.pinyin_keys for non-person names, with each segmented word converted once: pypinyin
    converts the words of its segmentation one by one, so joining cached words gives the same keys
    (tests/services/test_demo.py checks that on thousands of names)."""

    def __init__(self):
        self._seg = Pinyin().seg
        self._words: dict[str, tuple[str, str]] = {}

    def keys(self, text: str) -> tuple[str, str]:
        full, initials = [], []
        for word in self._seg(unicodedata.normalize("NFKC", text).strip()):
            got = self._words.get(word)
            if got is None:
                got = self._words[word] = ("".join(lazy_pinyin(word)),
                                           "".join(lazy_pinyin(word, style=Style.FIRST_LETTER)))
            full.append(got[0])
            initials.append(got[1])
        return _NOT_KEY.sub("", "".join(full).lower()), _NOT_KEY.sub("", "".join(initials).lower())


class _Maker:
    def __init__(self, demo: Demo):
        self.demo = demo
        self.rng = random.Random(SEED + 1)  # apart from the small city's, so either can change alone
        self.pinyin = FastPinyin()
        self.keys = set(db.session.scalars(select(Lead.name_key)))
        self.industries = [((code, demo.industries[code].id), weight)
                           for code, weight in names.INDUSTRY_WEIGHTS.items() if code in demo.industries]
        self.owners = [(u.county_id, u.id) for u in demo.users.values() if u.role in ("county_staff", "city_staff")]
        self.channels = [c.value for c in OTHER_CHANNELS]
        self.counties = [c.id for c in demo.real_counties]

    def name(self, kind: str, region: str, code: str | None) -> tuple[str, str]:
        """(name, duplicate-check key)."""
        rng = self.rng
        while True:
            if kind == LeadKind.HOMETOWN_ENTREPRENEUR:
                name = names.person_name(rng)  # people may share a name; firms may not
                return name, identity.normalise_company_name(name)
            trade = names.trade_name(rng) + (rng.choice(names.TRADE_CHARS) if rng.random() < 0.5 else "")
            if kind == LeadKind.FOREIGN_INVESTOR:
                name = names.foreign_name(rng, rng.choice(list(names.FOREIGN_REGIONS)), trade)
            elif kind == LeadKind.INTERMEDIARY:
                name = names.intermediary_name(rng, region, trade)
            else:
                name = names.company_name(rng, region, code, trade)
            key = identity.normalise_company_name(name)
            if key not in self.keys:
                self.keys.add(key)
                return name, key

    def lead(self) -> tuple[dict, list[dict], list[str], list[dict]]:
        """(lead row, contact rows, tags, interaction rows) of one lead; ids are filled in later."""
        rng, now = self.rng, self.demo.now
        kind = names.weighted(rng, KINDS)
        region = names.weighted(rng, names.REGION_WEIGHTS)
        code, industry_id = names.weighted(rng, self.industries)
        name, key = self.name(kind, region, code)
        county_id, owner_id = rng.choice(self.owners)
        created = now - timedelta(minutes=rng.randint(60 * 24 * 20, 60 * 24 * 540))
        full, initials = (identity.pinyin_keys(name, person=True) if kind in PERSON_KINDS
                          else self.pinyin.keys(name))
        times = sorted(created + (now - created) * rng.random() for _ in range(rng.choice(INTERACTIONS_PER_LEAD)))
        interactions = []
        for when in times:
            ikind = names.weighted(rng, KIND_WEIGHTS)
            interactions.append({"kind": ikind.value, "occurred_at": when, "summary": SUMMARY[ikind], "outcome": None,
                                 "leader_level": LeaderLevel.NONE.value, "visitor_count": 0, "county_id": county_id,
                                 "created_by_id": owner_id, "created_at": when, "updated_at": when})
        row = {"kind": kind.value, "name": name, "name_key": key,
               "pinyin_full": full, "pinyin_initials": initials,
               "uscc": names.uscc(rng, names.REGIONS[region][1]) if kind == LeadKind.ENTERPRISE
               and rng.random() < 0.5 else None,
               "industry_id": industry_id, "origin_region": region,
               "home_county_id": rng.choice(self.counties)
               if kind == LeadKind.HOMETOWN_ENTREPRENEUR else None,
               "owner_county_id": county_id, "owner_id": owner_id,
               "source_channel": "hometown" if kind == LeadKind.HOMETOWN_ENTREPRENEUR
               else rng.choice(self.channels),
               "status": names.weighted(rng, STATUS_WEIGHTS).value,
               "is_key": rng.random() < 0.05, "last_contacted_at": times[-1] if times else None,
               "created_by_id": owner_id, "created_at": created, "updated_at": times[-1] if times else created}
        contacts = []
        for i in range(rng.choice((1, 1, 2))):
            person = name if kind in PERSON_KINDS and i == 0 else names.person_name(rng)
            mobile = names.mobile(rng) if rng.random() < 0.85 else None
            contacts.append({"name": person, "title": rng.choice(names.CONTACT_TITLES["enterprise"]),
                             "mobile": mobile, "mobile_key": identity.normalise_mobile(mobile), "phone": None,
                             "email": None, "wechat": None, "is_primary": i == 0, "created_at": created,
                             "updated_at": created})
        tags = [names.weighted(rng, names.GENERAL_TAGS)] if rng.random() < 0.3 else []
        return row, contacts, tags, interactions


def _next_id(table) -> int:
    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


def add_leads(demo: Demo, count: int, *, progress: Callable[[str], None] | None = None) -> dict:
    """Add `count` leads in chunks, committing each; returns how many rows of each kind went in.

    Plain executemany INSERTs with ids handed out here: RETURNING over thousands of rows costs more than
    the inserts themselves. PostgreSQL's sequences are moved past those ids at the end."""
    maker = _Maker(demo)
    leads, interactions_table = Lead.__table__, Interaction.__table__
    lead_id, interaction_id = _next_id(leads), _next_id(interactions_table)
    totals = {"leads": 0, "contacts": 0, "tags": 0, "interactions": 0}
    for start in range(0, count, CHUNK):
        made = [maker.lead() for _ in range(min(CHUNK, count - start))]
        contacts, tags, interactions, participants = [], [], [], []
        for row, lead_contacts, lead_tags, lead_interactions in made:
            row["id"] = lead_id
            contacts += [dict(c, lead_id=lead_id) for c in lead_contacts]
            tags += [{"lead_id": lead_id, "tag": t} for t in lead_tags]
            for item in lead_interactions:
                interactions.append(dict(item, id=interaction_id, lead_id=lead_id))
                participants.append({"interaction_id": interaction_id, "user_id": item["created_by_id"]})
                interaction_id += 1
            lead_id += 1
        db.session.execute(leads.insert(), [m[0] for m in made])
        db.session.execute(Contact.__table__.insert(), contacts)
        if tags:
            db.session.execute(LeadTag.__table__.insert(), tags)
        if interactions:
            db.session.execute(interactions_table.insert(), interactions)
            db.session.execute(interaction_participants.insert(), participants)
        db.session.commit()
        for key, n in (("leads", len(made)), ("contacts", len(contacts)), ("tags", len(tags)),
                       ("interactions", len(interactions))):
            totals[key] += n
        if progress:
            progress(f"  {totals['leads']:,} / {count:,} leads")
    if db.engine.dialect.name == "postgresql":
        for table in (leads, interactions_table):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"(SELECT max(id) FROM {table.name}))"))
        db.session.commit()
    return totals

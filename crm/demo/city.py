"""The small demo city's leads (客商) of every kind, with contacts, tags, owners and referrers."""
from __future__ import annotations

from crm.demo import names
from crm.demo.context import Demo
from crm.extensions import db
from crm.models import Contact, Lead, LeadKind, LeadStatus, LeadTag, SourceChannel
from crm.services import identity

# How many of each kind the small city has (about 400 in all; enterprises most).
KIND_COUNTS = {LeadKind.CHAMBER: 22, LeadKind.ADVISER: 18, LeadKind.HOMETOWN_ENTREPRENEUR: 55,
               LeadKind.INTERMEDIARY: 22, LeadKind.FOREIGN_INVESTOR: 30, LeadKind.ENTERPRISE: 255}
# Leads without a project never show as signed: projects.py promotes the leads it signs.
STATUS_WEIGHTS = {LeadStatus.NEW: 18, LeadStatus.ENGAGED: 34, LeadStatus.INTERESTED: 24, LeadStatus.DORMANT: 14,
                  LeadStatus.DROPPED: 8}
# Where each chain's firms tend to land: a county's natural partners get its leads half of the time.
INDUSTRY_COUNTIES = {
    "selenium": ["610924", "610926", "610921"], "plush": ["AK-GXQ", "610902", "AK-HKQ"],
    "material": ["610981", "610929", "610922"], "energy": ["610925", "610927", "610923"],
    "tourism": ["610923", "610925", "610922"], "pharma": ["AK-GXQ", "610926", "610927"],
    "equipment": ["AK-GXQ", "AK-HKQ", "610902"], "electronics": ["AK-GXQ", "610902"],
}
REFERRER_CHANNEL = {LeadKind.CHAMBER: SourceChannel.CHAMBER, LeadKind.ADVISER: SourceChannel.ADVISER,
                    LeadKind.HOMETOWN_ENTREPRENEUR: SourceChannel.HOMETOWN,
                    LeadKind.INTERMEDIARY: SourceChannel.INTERMEDIARY}
OTHER_CHANNELS = {SourceChannel.VISIT: 25, SourceChannel.EVENT: 18, SourceChannel.SELF: 15,
                  SourceChannel.SUPERIOR: 10}
FOREIGN_CONTACTS = {"香港": ("陈家豪", "+852 9{0}"), "新加坡": ("Tan Wei Ming", "+65 8{0}"),
                    "韩国": ("Kim Min-jun", "+82 10-{0}"), "德国": ("Klaus Weber", "+49 151 {0}"),
                    "台湾": ("林志明", "+886 9{0}")}
PERSON_KINDS = (LeadKind.ADVISER, LeadKind.HOMETOWN_ENTREPRENEUR)


def new_lead(name: str, kind: str, **fields) -> Lead:
    """A lead with its derived keys filled exactly as the leads service fills them."""
    full, initials = identity.pinyin_keys(name, person=kind in PERSON_KINDS)
    return Lead(name=name, kind=kind, name_key=identity.normalise_company_name(name), pinyin_full=full,
                pinyin_initials=initials, **fields)


def new_contact(name: str, *, mobile: str | None = None, **fields) -> Contact:
    return Contact(name=name, mobile=mobile, mobile_key=identity.normalise_mobile(mobile), **fields)


class _Namer:
    """Unique names: two leads never share a duplicate-check key, and people never share a name."""

    def __init__(self, demo: Demo):
        self.demo, self.keys = demo, set()

    def take(self, make) -> tuple[str, str]:
        """(name, trade name) from make(trade name), retried until its key is new."""
        while True:
            trade = names.trade_name(self.demo.rng)
            name = make(trade)
            key = identity.normalise_company_name(name)
            if key not in self.keys:
                self.keys.add(key)
                return name, trade


def _owner_county(demo: Demo, industry_code: str | None, city_share: float = 0.12):
    rng = demo.rng
    chain = names.CHAIN_OF.get(industry_code or "")
    if rng.random() < city_share:
        return demo.city
    if chain and rng.random() < 0.5:
        return demo.counties[rng.choice(INDUSTRY_COUNTIES[chain])]
    weights = [3 if c.code == "610902" else 2 if c.code in ("AK-GXQ", "610981", "610924") else 1
               for c in demo.real_counties]
    return rng.choices(demo.real_counties, weights=weights)[0]


def _base(demo: Demo, county, created_days: int = 540) -> dict:
    owner = demo.rng.choice(demo.staff_of(county))
    created = demo.past(created_days, 20)
    return {"owner_county_id": county.id, "owner_id": owner.id, "created_by_id": owner.id,
            "created_at": created, "updated_at": created}


def _contacts(demo: Demo, lead: Lead, kind: str, region: str) -> None:
    rng = demo.rng
    if kind in PERSON_KINDS:
        title = "开放发展高级顾问" if kind == LeadKind.ADVISER else "董事长"
        people = [(lead.name, title)]
        if rng.random() < 0.3:
            people.append((names.person_name(rng), "秘书" if kind == LeadKind.ADVISER else "总经理助理"))
    else:
        titles = names.CONTACT_TITLES[kind]
        people = [(names.person_name(rng), t) for t in rng.sample(titles, k=rng.choice((1, 1, 2, 2, 3)))]
    domain = (lead.pinyin_initials[:8] or "ak") + rng.choice((".com", ".com.cn", ".cn"))
    for i, (person, title) in enumerate(people):
        mobile = names.mobile(rng) if rng.random() < 0.88 else None
        if kind == LeadKind.FOREIGN_INVESTOR and i == 1:
            person, pattern = FOREIGN_CONTACTS[region]
            mobile = pattern.format("".join(rng.choice("0123456789") for _ in range(7)))
        latin = identity.pinyin_keys(person, person=True)[0] or "contact"
        lead.contacts.append(new_contact(
            person, mobile=mobile, title=title, is_primary=i == 0,
            phone=names.landline(rng, region) if rng.random() < 0.25 else None,
            email=f"{latin}@{domain}" if rng.random() < 0.35 else None,
            wechat=(f"{latin}{rng.randint(1, 9999)}" if rng.random() < 0.5 else f"wxid_{rng.randint(10**9, 10**10)}")
            if rng.random() < 0.4 else None,
            created_at=lead.created_at, updated_at=lead.created_at))


def _tags(demo: Demo, lead: Lead, kind: str, industry_code: str | None) -> None:
    rng = demo.rng
    tags = set(names.INDUSTRY_TAGS.get(industry_code or "", []))
    extra = {LeadKind.CHAMBER: "异地商会", LeadKind.ADVISER: "高级顾问", LeadKind.HOMETOWN_ENTREPRENEUR: "乡贤",
             LeadKind.FOREIGN_INVESTOR: "外资"}.get(kind)
    if extra:
        tags.add(extra)
    if kind in (LeadKind.ENTERPRISE, LeadKind.FOREIGN_INVESTOR) and rng.random() < 0.45:
        tags.add(names.weighted(rng, names.GENERAL_TAGS))
    if kind == LeadKind.HOMETOWN_ENTREPRENEUR and rng.random() < 0.4:
        tags.add("返乡创业")
    lead.tag_rows = [LeadTag(tag=t) for t in sorted(tags)]


def _industry(demo: Demo) -> tuple[str, int | None]:
    code = names.weighted(demo.rng, names.INDUSTRY_WEIGHTS)
    industry = demo.industries.get(code)
    return code, industry.id if industry else None


def build_leads(demo: Demo) -> dict:
    """Add the small city's leads; referrers (chambers, advisers, 乡贤, agencies) first, so firms can
    name who introduced them (以商招商)."""
    rng, namer = demo.rng, _Namer(demo)
    referrers: list[Lead] = []
    made: list[Lead] = []

    def add(lead: Lead, kind: str, region: str, industry_code: str | None) -> None:
        if lead.status == LeadStatus.NEW:  # new leads are recent
            lead.created_at = lead.updated_at = demo.past(60, 1)
        _contacts(demo, lead, kind, region)  # while the lead is pending: no lazy load, no autoflush
        _tags(demo, lead, kind, industry_code)
        db.session.add(lead)
        made.append(lead)
        demo.leads.append(lead)

    def status() -> str:
        return names.weighted(rng, STATUS_WEIGHTS)

    for name, region in names.CHAMBERS[:KIND_COUNTS[LeadKind.CHAMBER]]:
        namer.keys.add(identity.normalise_company_name(name))
        uscc = names.uscc(rng, names.REGIONS[region][1], prefix="51") if rng.random() < 0.6 else None
        lead = new_lead(name, LeadKind.CHAMBER, origin_region=region, uscc=uscc, status=LeadStatus.ENGAGED,
                        is_key=rng.random() < 0.35, notes="异地商会，定期组织会员企业回乡考察。",
                        **_base(demo, demo.city if rng.random() < 0.5 else _owner_county(demo, None)))
        add(lead, LeadKind.CHAMBER, region, None)
        referrers.append(lead)
    for _ in range(KIND_COUNTS[LeadKind.ADVISER]):
        name, _trade = namer.take(lambda _trade: names.person_name(rng))
        region = names.weighted(rng, {r: w for r, w in names.REGION_WEIGHTS.items() if r != "安康"})
        lead = new_lead(name, LeadKind.ADVISER, origin_region=region, status=LeadStatus.ENGAGED, is_key=True,
                        notes=f"安康市开放发展高级顾问，{rng.choice(names.ADVISER_BACKGROUNDS)}。",
                        **_base(demo, demo.city))
        add(lead, LeadKind.ADVISER, region, None)
        referrers.append(lead)
    for _ in range(KIND_COUNTS[LeadKind.HOMETOWN_ENTREPRENEUR]):
        name, _trade = namer.take(lambda _trade: names.person_name(rng))
        home = rng.choice(demo.real_counties)
        region = names.weighted(rng, {r: w for r, w in names.REGION_WEIGHTS.items() if r != "安康"})
        code, industry_id = _industry(demo)
        lead = new_lead(name, LeadKind.HOMETOWN_ENTREPRENEUR, origin_region=region, home_county_id=home.id,
                        industry_id=industry_id, source_channel=SourceChannel.HOMETOWN, status=status(),
                        is_key=rng.random() < 0.2,
                        notes=f"{home.name}籍在外乡贤，{rng.choice(names.HOMETOWN_BUSINESS)}。",
                        **_base(demo, home if rng.random() < 0.8 else demo.city))
        add(lead, LeadKind.HOMETOWN_ENTREPRENEUR, region, code)
        referrers.append(lead)
    for _ in range(KIND_COUNTS[LeadKind.INTERMEDIARY]):
        region = names.weighted(rng, names.REGION_WEIGHTS)
        name, trade = namer.take(lambda trade, region=region: names.intermediary_name(rng, region, trade))
        uscc = names.uscc(rng, names.REGIONS[region][1]) if rng.random() < 0.6 else None
        lead = new_lead(name, LeadKind.INTERMEDIARY, origin_region=region, uscc=uscc, status=status(),
                        notes="委托招商合作机构。" if rng.random() < 0.5 else None,
                        **_base(demo, demo.city if rng.random() < 0.4 else _owner_county(demo, None)))
        add(lead, LeadKind.INTERMEDIARY, region, None)
        demo.trades[lead] = trade
        referrers.append(lead)
    db.session.flush()  # referrers get their ids

    def channel() -> tuple[str | None, int | None]:
        if rng.random() < 0.3:
            referrer = rng.choice(referrers)
            return REFERRER_CHANNEL[referrer.kind], referrer.id
        return names.weighted(rng, OTHER_CHANNELS), None

    for _ in range(KIND_COUNTS[LeadKind.FOREIGN_INVESTOR]):
        region = rng.choices(list(names.FOREIGN_REGIONS), weights=[10, 6, 5, 4, 3])[0]
        name, trade = namer.take(lambda trade, region=region: names.foreign_name(rng, region, trade))
        code, industry_id = _industry(demo)
        source, referrer_id = channel()
        lead = new_lead(name, LeadKind.FOREIGN_INVESTOR, origin_region=region, industry_id=industry_id,
                        source_channel=source, referrer_id=referrer_id, status=status(),
                        is_key=rng.random() < 0.25, **_base(demo, _owner_county(demo, code, 0.3)))
        add(lead, LeadKind.FOREIGN_INVESTOR, region, code)
        demo.trades[lead] = trade
    for _ in range(KIND_COUNTS[LeadKind.ENTERPRISE]):
        region = names.weighted(rng, names.REGION_WEIGHTS)
        code, industry_id = _industry(demo)
        name, trade = namer.take(lambda trade, region=region, code=code: names.company_name(rng, region, code, trade))
        uscc = names.uscc(rng, names.REGIONS[region][1]) if rng.random() < 0.6 else None
        source, referrer_id = channel()
        lead = new_lead(name, LeadKind.ENTERPRISE, origin_region=region, industry_id=industry_id, uscc=uscc,
                        source_channel=source, referrer_id=referrer_id, status=status(),
                        is_key=rng.random() < 0.15, **_base(demo, _owner_county(demo, code)))
        add(lead, LeadKind.ENTERPRISE, region, code)
        demo.trades[lead] = trade
    db.session.flush()
    return {"leads": len(made), "contacts": sum(len(lead.contacts) for lead in made),
            "tags": sum(len(lead.tag_rows) for lead in made)}

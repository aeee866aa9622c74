"""The small demo city's contact history: trips (叩门招商) led by city and county leaders, receptions, calls,
holiday greetings — over the last ~18 months."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from crm import holidays
from crm.demo.context import Demo
from crm.extensions import db
from crm.models import Interaction, InteractionKind, Lead, LeaderLevel, LeadKind, LeadStatus, Trip

CITY_LEADERS = ["周市长", "王常务副市长", "杨副市长", "鲁副市长"]
COUNTY_TITLE = {"district": "区长", "county": "县长", "county_city": "市长", "zone": "管委会主任"}
# (cities, what, city leader index or county code, days ago it began, length in days)
TRIPS = [
    (["北京", "廊坊", "雄安"], "叩门招商", 0, 480, 5),
    (["上海", "苏州", "昆山"], "招商考察", 0, 380, 3),
    (["深圳", "东莞"], "叩门招商", 1, 300, 4),
    (["杭州", "宁波"], "富硒产品推介暨叩门招商", 3, 220, 3),
    (["广州", "深圳"], "毛绒玩具产业链招商", "AK-GXQ", 150, 3),
    (["武汉", "十堰"], "装备制造叩门招商", "610981", 95, 3),
    (["北京", "雄安"], "叩门招商", 0, 40, 4),
    (["深圳", "苏州"], "富硒茶叩门招商", "610924", 12, 4),
]
OTHER_KINDS = {InteractionKind.CALL: 24, InteractionKind.WECHAT: 18, InteractionKind.RECEPTION: 16,
               InteractionKind.REVISIT: 13, InteractionKind.MEETING: 8, InteractionKind.VISIT: 10}
CONTACTS_PER_STATUS = {LeadStatus.NEW: (0, 1), LeadStatus.ENGAGED: (1, 3), LeadStatus.INTERESTED: (2, 4),
                       LeadStatus.SIGNED: (3, 5), LeadStatus.DORMANT: (1, 2), LeadStatus.DROPPED: (1, 2)}
SUMMARIES = {
    InteractionKind.CALL: ["电话沟通投资意向，对方关注{county}用地和电价", "电话确认来安康考察的时间和人员"],
    InteractionKind.WECHAT: ["微信发送{county}招商政策汇编和园区介绍", "微信沟通项目选址资料"],
    InteractionKind.RECEPTION: ["接待{lead}考察团一行，参观园区和标准化厂房", "接待{lead}来访，座谈合作事宜"],
    InteractionKind.REVISIT: ["回访{lead}，了解前期洽谈后的进展", "回访企业，跟进投资协议条款"],
    InteractionKind.MEETING: ["与{lead}召开项目对接座谈会", "组织相关部门与企业座谈，协调用地和审批"],
    InteractionKind.VISIT: ["上门拜访{lead}，介绍{county}产业基础", "叩门拜访企业高管，推介安康营商环境"],
}
OUTCOMES = ["对方有意向来安康实地考察", "需要进一步提供用地和配套条件", "已约定下次会面时间", "对方暂无投资计划，保持联系",
            "初步达成合作意向", "需上报市领导协调"]


def _trip_title(cities: list[str], what: str, starts: date, ends: date) -> str:
    days = f"{starts.month}月{starts.day}–{ends.day}日" if starts.month == ends.month else \
        f"{starts.month}月{starts.day}日–{ends.month}月{ends.day}日"
    return f"{'·'.join(cities)} {what} {days}"


def _interaction(demo: Demo, lead: Lead | None, kind: str, when: datetime, by, *, project=None,
                 others=(), **fields) -> Interaction:
    item = Interaction(lead_id=lead.id if lead else None, project_id=project.id if project else None, kind=kind,
                       occurred_at=when, created_by_id=by.id, county_id=by.county_id,
                       participants=[by, *[o for o in others if o is not by]], created_at=when, updated_at=when,
                       **fields)
    db.session.add(item)
    return item


def _county_name(demo: Demo, lead: Lead) -> str:
    county = demo.county(lead.owner_county_id) or demo.city
    return "安康" if county is demo.city else county.name


def build_trips(demo: Demo) -> dict:
    """Each trip: a leader, the staff who went, and two or three visits (叩门) a day to firms from there."""
    rng = demo.rng
    trips = visits = 0
    firms = [lead for lead in demo.leads if lead.kind in (LeadKind.ENTERPRISE, LeadKind.CHAMBER,
                                                          LeadKind.HOMETOWN_ENTREPRENEUR)]
    for cities, what, leader, days_ago, length in TRIPS:
        starts = demo.on(-days_ago)
        ends = starts + timedelta(days=length - 1)
        if isinstance(leader, int):
            level, leader_name, county = LeaderLevel.CITY, CITY_LEADERS[leader], None
            people = [demo.users["city"], demo.users["city2"],
                      *rng.sample([u for u in demo.users.values() if u.role == "county_staff"], 2)]
        else:
            county = demo.counties[leader]
            level = LeaderLevel.COUNTY
            leader_name = rng.choice("刘陈张李赵") + COUNTY_TITLE[county.kind]
            people = demo.staff_of(county)
        trip = Trip(title=_trip_title(cities, what, starts, ends), leader_name=leader_name, leader_level=level,
                    starts_on=starts, ends_on=ends, cities="、".join(cities), participants=people,
                    county_id=county.id if county else None, created_by_id=people[0].id,
                    notes=f"{leader_name}带队，{len(people)}名工作人员随行。")
        db.session.add(trip)
        db.session.flush()
        trips += 1
        for day in range(length):
            city_name = cities[min(day * len(cities) // length, len(cities) - 1)]
            known = [f for f in firms if f.created_at < demo.at(-days_ago + day, 8)]
            local = [f for f in known if f.origin_region == city_name]
            for n in range(rng.randint(2, 3)):
                lead = rng.choice(local or known)
                when = min(demo.at(-days_ago + day, 9 + 3 * n, rng.choice((0, 30))), demo.now)
                _interaction(demo, lead, InteractionKind.VISIT, when, people[0], others=people[1:],
                             location=city_name, trip_id=trip.id, leader_level=level, leader_name=leader_name,
                             visitor_count=len(people) + 1,
                             summary=f"{leader_name}带队叩门拜访{lead.name}，推介安康{_county_name(demo, lead)}产业和营商环境",
                             outcome=rng.choice(OUTCOMES))
                if lead.status == LeadStatus.NEW:
                    lead.status = LeadStatus.ENGAGED
                visits += 1
    return {"trips": trips, "interactions": visits}


def _greeting_days(demo: Demo) -> list[tuple[date, str]]:
    out = []
    for year in (demo.today.year - 2, demo.today.year - 1, demo.today.year):
        for key, text in (("spring_festival", "春节"), ("mid_autumn", "中秋")):
            day = holidays.holiday_date(key, year) - timedelta(days=1)
            if demo.on(-540) <= day < demo.today:
                out.append((day, text))
    return out


def build_interactions(demo: Demo) -> dict:
    """Every lead's own history by its status; greetings to chambers, advisers and 乡贤 on 春节 and 中秋."""
    rng = demo.rng
    made = 0
    for lead in demo.leads:
        owner = next(u for u in demo.users.values() if u.id == lead.owner_id)
        low, high = CONTACTS_PER_STATUS[lead.status]
        for _ in range(rng.randint(low, high)):
            kind = rng.choices(list(OTHER_KINDS), weights=list(OTHER_KINDS.values()))[0]
            days_since = max((demo.now - lead.created_at).days, 1)
            when = max(demo.past(days_since, 200 if lead.status == LeadStatus.DORMANT and days_since > 200 else 1),
                       lead.created_at)
            template = rng.choice(SUMMARIES[kind])
            fields = {"summary": template.format(lead=lead.name, county=_county_name(demo, lead)),
                      "outcome": rng.choice(OUTCOMES) if rng.random() < 0.7 else None}
            if kind in (InteractionKind.RECEPTION, InteractionKind.MEETING):
                fields["visitor_count"] = rng.randint(2, 18)
                fields["location"] = rng.choice(("市招商局会议室", "高新区管委会", "县政府会议室", "产业园区"))
            if kind in (InteractionKind.RECEPTION, InteractionKind.VISIT) and rng.random() < 0.4:
                fields["leader_level"] = LeaderLevel.COUNTY
                fields["leader_name"] = rng.choice("刘陈张李赵孙") + rng.choice(("县长", "副县长", "区长"))
            elif kind == InteractionKind.RECEPTION and rng.random() < 0.2:
                fields["leader_level"] = LeaderLevel.CITY
                fields["leader_name"] = rng.choice(CITY_LEADERS)
            _interaction(demo, lead, kind, when, owner, **fields)
            made += 1
    greeted = [lead for lead in demo.leads if lead.kind in (LeadKind.CHAMBER, LeadKind.ADVISER,
                                                            LeadKind.HOMETOWN_ENTREPRENEUR)]
    for day, festival in _greeting_days(demo):
        for lead in rng.sample(greeted, k=min(25, len(greeted))):
            when = demo.at((day - demo.today).days, rng.randint(9, 17))
            if when < lead.created_at:
                continue
            owner = next(u for u in demo.users.values() if u.id == lead.owner_id)
            _interaction(demo, lead, InteractionKind.GREETING, when, owner,
                         summary=f"{festival}问候：向{lead.name}致以节日祝福，邀请回乡走走看看")
            made += 1
    return {"interactions": made}


def log_interaction(demo: Demo, lead: Lead | None, kind: str, when: datetime, by, **fields) -> Interaction:
    """For the other builders (signings, events, finished follow-ups)."""
    return _interaction(demo, lead, kind, when, by, **fields)

"""Display labels for the lead and contact-history code names, registered as Jinja globals by the leads blueprint."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {"enterprise": _l("Enterprise"), "chamber": _l("Chamber of commerce"), "adviser": _l("Adviser"),
               "hometown_entrepreneur": _l("Hometown entrepreneur"), "intermediary": _l("Intermediary"),
               "foreign_investor": _l("Foreign investor")}
STATUS_LABELS = {"new": _l("New"), "engaged": _l("Engaged"), "interested": _l("Interested"), "signed": _l("Signed"),
                 "dormant": _l("Dormant"), "dropped": _l("Dropped")}
STATUS_COLOURS = {"new": "secondary", "engaged": "primary", "interested": "info", "signed": "success",
                  "dormant": "warning", "dropped": "dark"}
CHANNEL_LABELS = {"chamber": _l("Chamber of commerce"), "adviser": _l("Adviser"), "hometown": _l("Hometown network"),
                  "intermediary": _l("Intermediary"), "event": _l("Promotion event"), "self": _l("Came by itself"),
                  "superior": _l("Passed down by superiors"), "visit": _l("Door-knocking visit")}
INTERACTION_KIND_LABELS = {"visit": _l("Visit"), "reception": _l("Reception"), "revisit": _l("Return visit"),
                           "call": _l("Phone call"), "wechat": _l("WeChat"), "meeting": _l("Meeting"),
                           "event": _l("Promotion event"), "greeting": _l("Holiday greeting"),
                           "signing": _l("Signing")}
LEADER_LEVEL_LABELS = {"none": _l("No leader"), "city": _l("City leader"), "county": _l("County leader"),
                       "department": _l("Department head")}
REASON_LABELS = {"uscc": _l("Same credit code"), "name": _l("Same name"), "mobile": _l("Same contact mobile"),
                 "similar_name": _l("Similar name"), "contact": _l("Possibly the same contact")}
DECISION_LABELS = {"keep_first": _l("Keep with the first registration"), "reassign": _l("Give it to the claimant"),
                   "merge": _l("Merge the two leads")}
CONFLICT_STATUS_LABELS = {"open": _l("Open"), "kept_first": _l("Kept by the first registration"),
                          "reassigned": _l("Given to the claimant"), "merged": _l("Merged")}
SORT_LABELS = {"updated": _l("Recently changed"), "last_contacted": _l("Recently contacted"),
               "silent": _l("Longest without contact"), "name": _l("Name"), "created": _l("Newest")}
AUDIT_ACTION_LABELS = {"create": _l("Lead registered"), "update": _l("Changed"), "delete": _l("Deleted"),
                       "restore": _l("Restored"), "merge": _l("Merged another lead in"), "merged": _l("Merged away")}
FIELD_LABELS = {"kind": _l("Type"), "name": _l("Name"), "uscc": _l("Credit code"), "industry_id": _l("Industry"),
                "origin_region": _l("Based in"), "home_county_id": _l("Home county"), "owner_county_id": _l("County"),
                "owner_id": _l("Owner"), "source_channel": _l("Source"), "referrer_id": _l("Referred by"),
                "status": _l("Status"), "is_key": _l("Key investor"), "notes": _l("Notes"), "tags": _l("Tags"),
                "contacts": _l("Contacts")}


FOLLOWUP_STATUS_LABELS = {"open": _l("Not done yet"), "done": _l("Done"), "cancelled": _l("Cancelled")}


def label(mapping: dict, code) -> str:
    return str(mapping.get(code, code or ""))

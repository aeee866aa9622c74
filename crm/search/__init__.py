"""Full-text Chinese search over leads and projects: the only package that knows Whoosh; plain dicts in and out.

A doc dict has: type ("lead"|"project"), id, version, name, company, person_names, titles, industry_ids (the
industry and its ancestors), industry_text (their names and synonyms), tags, origin_region, home_county,
notes, interactions, county_id, kind, status, is_key, last_contacted_at (aware UTC), sort_name.
"""

from .index import IndexBusy, SearchIndex, SearchResult

__all__ = ["IndexBusy", "SearchIndex", "SearchResult"]

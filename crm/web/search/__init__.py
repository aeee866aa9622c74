"""The search page: one box over leads and projects, facets as filter chips."""

"""Dashboards: the admin home's overview and `/admin/dashboards/<name>/` pages, each a view over selectors.

A page is a function from a `Period` (UTC days, `to` inclusive, optional currency) to a `Page` of tiles, charts
and tables (`charts.py`); `views.py` renders it (Chart.js reads each chart's data from a `json_script` element)
or, with `?format=csv&chart=<name>`, returns the table behind one chart. Pages register themselves by name
(`registry.py`); the module of page `<name>` is `page_<name>.py`.
"""

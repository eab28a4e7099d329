"""The city console: server-rendered pages for city staff (docs/console.md).

Starlette + Jinja2 served by uvicorn; htmx and Apache ECharts from city/console/assets (npm,
installed by scripts/bootstrap.sh, served by the app itself: city intranets are closed).
"""

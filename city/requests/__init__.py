"""Resident requests (诉求) at the city: stored at ingest, worked on in the console, answered to
the kiosks' `requests.status` calls (docs/requests-city.md)."""

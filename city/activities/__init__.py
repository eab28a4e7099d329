"""Activities (活动报名) at the city: sign-ups allocated at ingest, pushed lists, console pages."""

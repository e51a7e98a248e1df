"""The bot's HTTP side: webhook mode, health, readiness and metrics (one small ASGI app)."""

"""Offline translation: the worker process that owns argostranslate (worker), the bot's side of it
(translator), the background jobs that translate reports and dialog (jobs), and the models on disk
(packages)."""

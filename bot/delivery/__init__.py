"""Getting messages to the staff chat and to reporters: the outbox's delivery loop (loop) and the
surge digests it sends when many reports wait (digest)."""

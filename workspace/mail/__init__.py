"""Email: rendering content-free messages, the SMTP connection and the outbox worker.

What goes into the outbox, and when, is decided by the services (outbox, digests,
notifications); this package turns a row into a MIME message and delivers it."""

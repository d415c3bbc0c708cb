"""Use cases shared by pages, the API, sockets, the worker and the CLI."""

"""Couchcast's Django project: streaming, library, player and API.

Nothing in this package knows about trays or windows; the desktop shell drives it through
`server.runner`, `server.config`, `server.network` and the plain functions of `server.library.folders`.
"""

"""GeoDjango's PostGIS backend with a health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before a request's first query
by sending ``SELECT 1``: one more round trip in every request. On this project's 2-core
VMs a round trip after a pause costs about 0.5 ms (0.11 ms back to back), a third of a
point lookup's own SQL (bench/api.py, areas/?point=).

A server that ended a session (a restart, ``pg_terminate_backend``, an idle timeout) sends
its FATAL message and closes the socket, so the socket of a dead connection has something
to read while the client waits for nothing. A healthy idle connection has nothing to read:
libpq reads every answer up to its ReadyForQuery. So the check looks at the socket first,
without sending anything, and only when there is something to read asks the server as
Django does (unread data that is not a goodbye then costs one round trip, as before).

What neither check can notice faster is a peer that vanished without closing (a cable,
a firewall dropping state): ``SELECT 1`` waited for TCP's timeout there too.
"""

from __future__ import annotations

import select

from django.contrib.gis.db.backends.postgis import base
from psycopg2.extensions import TRANSACTION_STATUS_IDLE


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        if self.connection.info.transaction_status != TRANSACTION_STATUS_IDLE:
            # Inside a transaction or after a failed exchange: leave it to Django's query.
            return super().is_usable()
        # poll, not select: select() fails on descriptors above 1023.
        waiting = select.poll()
        waiting.register(self.connection.fileno(), select.POLLIN)
        return not waiting.poll(0) or super().is_usable()

"""Another connection to the test database, as another process (a second worker, a writer,
a cron job) would hold one: for tests of what two sessions see of each other."""

import psycopg2
from django.db import connection


def another_session():
    """A new psycopg2 connection to the database Django's connection uses; close it."""
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
    )

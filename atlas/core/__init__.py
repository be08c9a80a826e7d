"""Shared infrastructure below the domain apps: nothing here imports planning_areas or providers.

Form fields, roles, uploads and safe file reading, admin base classes, SQL helpers and
the database-function installer, GeoJSON helpers and API tools (import-linter checks the
layering, see ``pyproject.toml``).
"""

"""The caseworker lookup: address or point → planning areas, responsible contacts, services.

It joins planning areas and services, so it sits above ``planning_areas`` and
``providers`` (see the layers in ``pyproject.toml``).
"""

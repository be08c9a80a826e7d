"""The public site: map, list, detail and area pages (top layer; templates and static files
stay in the ``atlas`` app's folders, ``atlas/templates/atlas`` and ``atlas/static/atlas``)."""

"""``manage.py taxonomy``: list, add or change categories and target groups."""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from providers.imports import taxonomy
from providers.models import Category, TargetGroup

MODELS = {"category": Category, "target-group": TargetGroup}


class Command(BaseCommand):
    help = (
        "List categories and target groups (list), create or change one (set category|"
        "target-group SLUG --name …), or every [[categories]] and [[target_groups]] entry of a "
        "TOML file such as a service mapping (load FILE). Changes are a dry run unless --commit."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="print both taxonomies")
        one = sub.add_parser("set", help="create or change one entry")
        one.add_argument("kind", choices=sorted(MODELS))
        one.add_argument("slug")
        one.add_argument("--name", required=True)
        one.add_argument("--description")
        one.add_argument("--sort-order", type=int, dest="sort_order")
        one.add_argument("--parent", help="category only: slug of the parent category")
        one.add_argument("--icon", help="category only: map icon name, e.g. family")
        one.add_argument("--colour", help="category only: marker colour, #rrggbb")
        one.add_argument("--commit", action="store_true", help="write the change")
        load = sub.add_parser("load", help="entries of a TOML file ([[categories]] etc.)")
        load.add_argument("path")
        load.add_argument("--commit", action="store_true", help="write the changes")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "list":
            self._list()
            return
        if action == "set":
            model = MODELS[options["kind"]]
            keys = taxonomy.FIELDS[model] - {"slug"}
            entry = {"slug": options["slug"]}
            entry |= {k: options[k] for k in keys if options.get(k) is not None}
            if model is TargetGroup and any(options.get(k) for k in ("parent", "icon", "colour")):
                raise CommandError("--parent, --icon and --colour are for categories only.")
            plans = [(model, [entry])]
        else:
            plans = self._from_file(Path(options["path"]))
        try:
            for model, entries in plans:
                report = taxonomy.apply(model, entries, commit=options["commit"])
                self.stdout.write(f"{model._meta.verbose_name_plural}: {report}")
                for verb, slugs in (("new", report.created), ("changed", report.updated)):
                    for slug in slugs:
                        self.stdout.write(f"  {verb}: {slug}")
        except taxonomy.TaxonomyError as exc:
            raise CommandError(str(exc)) from exc
        if not options["commit"]:
            self.stdout.write("Dry run: nothing was written. Pass --commit to write.")

    def _from_file(self, path: Path):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        entries = [
            (Category, data.get("categories") or []),
            (TargetGroup, data.get("target_groups") or []),
        ]
        if not any(items for _model, items in entries):
            raise CommandError(f"{path.name} has no [[categories]] or [[target_groups]] entries.")
        return entries

    def _list(self):
        self.stdout.write("Categories (slug, name, icon, colour, parent):")
        for category in Category.objects.select_related("parent"):
            parent = category.parent.slug if category.parent else "-"
            self.stdout.write(
                f"  {category.slug}\t{category.name}\t{category.icon or '-'}\t"
                f"{category.colour}\t{parent}"
            )
        self.stdout.write("Target groups (slug, name):")
        for group in TargetGroup.objects.all():
            self.stdout.write(f"  {group.slug}\t{group.name}")

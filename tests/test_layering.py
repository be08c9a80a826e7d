"""The layering of issue 12 is enforced: lint-imports (run by ``make lint``) passes on the
code as it is and fails as soon as a lower layer imports a higher one."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("atlas", "providers", "planning_areas")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The Python files of the three packages and pyproject.toml, in a scratch folder."""
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            target = tmp_path / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_its_layers(project_copy):
    result = lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "upward_import"),
    [
        ("atlas/core/geojson.py", "import planning_areas.models"),
        ("planning_areas/geojson.py", "import providers.models"),
        ("providers/filters.py", "import atlas.site.views"),
    ],
)
def test_an_upward_import_breaks_the_lint(project_copy, module, upward_import):
    path = project_copy / module
    path.write_text(path.read_text() + f"\n{upward_import}  # noqa\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


@pytest.mark.parametrize(
    ("new_module", "imports"),
    [
        # A new module that closes a cycle: providers already imports planning_areas.
        ("planning_areas/shortcut.py", "from providers.models import Service"),
        # The two joining apps are independent siblings.
        ("atlas/lookup/shortcut.py", "from atlas.monitoring import coverage"),
        # The shared layer knows no domain app.
        ("atlas/core/shortcut.py", "from providers import features"),
    ],
)
def test_a_new_module_closing_a_cycle_breaks_the_lint(project_copy, new_module, imports):
    (project_copy / new_module).write_text(f"{imports}  # noqa\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert new_module.removesuffix(".py").replace("/", ".") in result.stdout

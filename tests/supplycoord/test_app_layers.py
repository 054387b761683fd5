"""Dependencies point one way (style.md, README "Layout"): supplycoord ← inventory ←
production, procurement ← allocation ← reports. An app imports only from apps to its left;
production and procurement, side by side, do not import each other."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANK = {
    "supplycoord": 0,
    "inventory": 1,
    "production": 2,
    "procurement": 2,
    "allocation": 3,
    "reports": 4,
}

# Modules of the core that name every app by design: the URL wiring (the composition root, as
# the settings are) and the one set of permission rules, which scopes every app's rows.
WIRING = {"supplycoord/urls.py", "supplycoord/api_urls.py", "supplycoord/permissions.py"}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & set(RANK)


def test_no_app_imports_from_an_app_to_its_right_or_beside_it():
    wrong = []
    for app, rank in RANK.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or str(path.relative_to(ROOT)) in WIRING:
                continue
            for other in _imported_apps(path) - {app}:
                if RANK[other] >= rank:
                    wrong.append(f"{path.relative_to(ROOT)} imports {other}")
    assert wrong == []


def test_it_sees_an_import_to_the_right():
    # The check itself: a module of inventory importing reports would be caught.
    source = "from reports.selectors import x\nimport allocation.models\nfrom .models import y\n"
    path = ROOT / "tests" / "supplycoord" / "_layer_probe.py"
    path.write_text(source, encoding="utf-8")
    try:
        assert _imported_apps(path) == {"reports", "allocation"}
    finally:
        path.unlink()

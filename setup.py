"""What pyproject.toml cannot say statically: the package list, the site data and the catalog compile step.

The owner's layout keeps templates/, static/ and migrations/ beside crm/. A wheel carries them as the data
package `crm_site` (crm/__init__.py finds them there when no checkout is around), and the compiled Chinese
catalog, which is built from the .po parts and not kept in git, is compiled into the wheel here."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SITE = {"crm_site.templates": "templates", "crm_site.static": "static", "crm_site.migrations": "migrations"}


class BuildWithCatalog(build_py):
    def run(self):
        super().run()
        spec = importlib.util.spec_from_file_location("crm_catalog", HERE / "crm" / "catalog.py")
        catalog = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(catalog)  # needs only Babel (a build requirement), not the app
        out = Path(self.build_lib) / "crm" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            catalog.write_mo(fh, catalog.merged_catalog())


def _tree(folder: str) -> list[str]:
    root = HERE / folder
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


setup(
    packages=find_namespace_packages(include=["crm", "crm.*"], exclude=["*.__pycache__"]) + list(SITE),
    package_dir={"": ".", **SITE},
    package_data={"crm": ["reference/*.tsv", "translations/zh/parts/*.po"],
                  **{name: _tree(folder) for name, folder in SITE.items()}},
    cmdclass={"build_py": BuildWithCatalog},
)

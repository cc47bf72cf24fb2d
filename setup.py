"""Only the package list lives here (everything else is in pyproject.toml): every package under ganviz/, found
automatically, plus the top-level assets/ folder, which pyproject's package-dir maps into the package as
ganviz.assets (pyproject's packages.find cannot add a package that lives outside ganviz/)."""

from setuptools import find_packages, setup

ASSETS = ["ganviz.assets", "ganviz.assets.classifiers", "ganviz.assets.icons", "ganviz.assets.scenes"]

setup(packages=find_packages(include=["ganviz", "ganviz.*"]) + ASSETS)

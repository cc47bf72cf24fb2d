"""Data files shipped with ganviz (scenes, icons, desktop entry).

This folder stays at the top of the source tree; pyproject.toml maps it into the package as `ganviz.assets`,
so a wheel carries it and `ganviz.resources` reads it with importlib.resources (installed or editable).
"""

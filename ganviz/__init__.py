"""ganviz: a desktop lab for watching GANs train.

Importing ganviz changes nothing process-wide: the `ganviz` program sets what it needs for its own process
(ganviz.cli.main: one OpenBLAS thread, the Qt binding), and ganviz.qt pins the Qt binding when it is imported.
"""

__version__ = "0.1.0"

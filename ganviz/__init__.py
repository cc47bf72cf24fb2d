"""ganviz: a desktop lab for watching GANs train."""

__version__ = "0.1.0"

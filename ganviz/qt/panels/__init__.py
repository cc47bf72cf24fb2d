"""Views: each panel has update_snapshot(snapshot) and reset(); items are created once, then only fed data."""

from ganviz.qt.panels.data1d import Data1DPanel
from ganviz.qt.panels.data2d import Data2DPanel
from ganviz.qt.panels.histograms import HistogramPanel
from ganviz.qt.panels.losses import LossPanel
from ganviz.qt.panels.metrics import MetricsPanel

__all__ = ["Data1DPanel", "Data2DPanel", "HistogramPanel", "LossPanel", "MetricsPanel"]

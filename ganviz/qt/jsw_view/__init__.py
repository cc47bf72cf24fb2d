"""JS versus Wasserstein (WGAN paper, Example 1 / Figure 1) and the critic-shape comparison, as two tabs.

Tab 1, the sweep: the generator is frozen at p_data shifted by theta. A slider picks theta; at each theta a
BCE discriminator and a WGAN-GP critic are trained from scratch (ganviz.core.jsw, in a background thread),
and the plots show, against theta, the JSD estimate (V + log 4) / 2 beside the true JSD and log 2, and the
critic's gap beside the exact W1 = |theta|; on the right, D(x) and the critic along x at the current theta
with p_data and p_g. "Sweep" retrains at every theta of a grid, points appearing as each theta finishes.

Tab 2, critic shapes: a weight-clipped critic and a gradient-penalty critic trained on the same 2D data
against the fixed generator data + N(0, sigma^2), drawn side by side as heatmaps with colour bars and
contour lines (WGAN-GP paper, Figure 1).

Training never runs in the GUI thread: a `BackgroundJob` wraps a superqt GeneratorWorker whose generator
yields every few dozen steps, so progress is shown and Stop / closing the window returns within a chunk.

Modules: `sweep` (tab 1), `shapes` (tab 2), `window` (both tabs), `jobs` (the background job), `plots` (helpers).
"""

from ganviz.core import jsw

from .jobs import BackgroundJob
from .shapes import CriticShapeView
from .sweep import JSWSweepView, slopes_at_generator
from .window import JSWWindow

__all__ = ["BackgroundJob", "CriticShapeView", "JSWSweepView", "JSWWindow", "jsw", "slopes_at_generator"]

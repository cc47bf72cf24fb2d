"""`ganviz train --tensorboard DIR`: the JSON-lines scalars, also as TensorBoard events (optional extra).

    pip install "ganviz[tensorboard]"
    ganviz train --data ring8 --steps 5000 --tensorboard runs/ring8 && tensorboard --logdir runs

Every numeric field of a row (losses, d_updates, metrics) becomes a scalar of the same name at the row's step;
text fields (the objective) are kept as a text entry when they change.
"""

from __future__ import annotations

import math
from typing import Any

INSTALL_HINT = 'TensorBoard is not installed: pip install "ganviz[tensorboard]" (or pip install tensorboard)'


class TensorBoardMissing(ImportError):
    """--tensorboard was asked for, but the tensorboard package is not installed."""


def summary_writer(logdir: str) -> Any:
    """torch's SummaryWriter for logdir; TensorBoardMissing (with the install command) without tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError naming tensorboard when the package is absent
        raise TensorBoardMissing(INSTALL_HINT) from None
    return SummaryWriter(log_dir=logdir)


class ScalarSink:
    """Writes JSON-lines rows ({"step": ..., name: value}) to a SummaryWriter-like object."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self._text: dict[str, str] = {}

    def write(self, row: dict[str, Any]) -> None:
        step = int(row["step"])
        for key, value in row.items():
            if key == "step" or value is None or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                if math.isfinite(value):
                    self.writer.add_scalar(key, value, global_step=step)
            elif isinstance(value, str) and self._text.get(key) != value:
                self._text[key] = value
                self.writer.add_text(key, value, global_step=step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()

"""Export: frames -> MP4 / GIF / PNG sequence, session files (config + command log) and deterministic
replay. Plain Python + numpy + torch: nothing in this package imports Qt. (Checkpoints are part of the
engine: ganviz.core.checkpoint.)

    from ganviz.export.video import FrameWriter        # MP4 (imageio-ffmpeg), GIF (Pillow), PNG folder
    from ganviz.export.session import save_session, load_session, session_from_trainer
    from ganviz.export.replay import replay            # Session -> Trainer, bit-identical on the CPU
"""

from .errors import DiskFullError, EncoderMissingError, ExportError

__all__ = ["DiskFullError", "EncoderMissingError", "ExportError"]

"""Torch + numpy engine: data, models, objectives, trainer, metrics. Never imports Qt."""

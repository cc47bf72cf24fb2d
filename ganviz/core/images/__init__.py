"""Image data for GANs: built-in rendered datasets (digits, shapes), local image files, coverage metrics.

`datasets` renders and caches the built-in data (numpy only), `files` loads MNIST idx / npz / npy files
and image folders (refusing bad files with ImageDataError), `classifier` (torch) labels generated images
for class coverage. See docs/IMAGES.md.
"""

from .datasets import CLASS_NAMES, IMAGE_SIZE, bank, render
from .files import ImageDataError, load_images

__all__ = ["CLASS_NAMES", "IMAGE_SIZE", "ImageDataError", "bank", "load_images", "render"]

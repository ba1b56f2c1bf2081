"""Data loaders and splits."""

from kerasexp.data.dataset import ImageData
from kerasexp.data.fashion_mnist import load_fashion_mnist

__all__ = ["ImageData", "load_fashion_mnist"]

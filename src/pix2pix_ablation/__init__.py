"""pix2pix-ablation: which part of Pix2Pix matters, measured reproducibly."""

__version__ = "0.1.0"

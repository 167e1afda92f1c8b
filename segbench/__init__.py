"""segbench: a hardware advisor and benchmarking suite for image segmentation."""

__version__ = "0.1.0"

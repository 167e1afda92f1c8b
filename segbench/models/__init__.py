"""Model registry and one adapter per family (SAM 2.1, Mask2Former, MONAI 3D nets)."""

from segbench.models.base import LoadedModel, LoadOptions, ModelSpec
from segbench.models.registry import MODELS, get_spec, load_model, model_names

__all__ = ["LoadedModel", "LoadOptions", "ModelSpec", "MODELS", "get_spec", "load_model", "model_names"]

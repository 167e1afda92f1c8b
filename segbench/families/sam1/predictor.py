"""SAM 1's predictor and automatic mask generator, shaped as segbench's SAM 2.1 workloads call them.

`SamPredictor` decodes one object per `predict` call and has no batch call; SAM 2.1's predictor
takes several objects at once (points (B, 1, 2), boxes (B, 4)) and `set_image_batch`. The subclass
here adds those two on top of SamPredictor's own batched primitives (`predict_torch`, the stacked
encoder pass of `Sam.forward`), so the SAM 2.1 workload classes run SAM 1 unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from segment_anything import SamAutomaticMaskGenerator, SamPredictor


class BatchedSamPredictor(SamPredictor):
    """SamPredictor with `set_image_batch` and several objects per `predict`."""

    @torch.no_grad()
    def set_image_batch(self, images: list[np.ndarray]) -> None:
        """Each image resized and normalised on its own, then one encoder pass over the stack, as
        `Sam.forward(batched_input)` does. Prompts then decode against the first image."""
        self.reset_image()
        tensors = []
        for image in images:
            resized = torch.as_tensor(self.transform.apply_image(image), device=self.device)
            tensors.append(self.model.preprocess(resized.permute(2, 0, 1).contiguous()[None]))
        self.original_size = images[0].shape[:2]
        self.input_size = tuple(self.transform.get_preprocess_shape(*self.original_size, self.transform.target_length))
        self.features = self.model.image_encoder(torch.cat(tensors))
        self.is_image_set = True

    def predict(self, point_coords: np.ndarray | None = None, point_labels: np.ndarray | None = None,
                box: np.ndarray | None = None, mask_input: np.ndarray | None = None, multimask_output: bool = True,
                return_logits: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SamPredictor.predict for one object; for points (B, N, 2) or boxes (B, 4), B objects in one
        `predict_torch` call (coordinates transformed as `predict` does), masks copied to the host."""
        several = (point_coords is not None and np.ndim(point_coords) == 3) or (box is not None and np.ndim(box) == 2)
        if not several:
            return super().predict(point_coords, point_labels, box, mask_input, multimask_output, return_logits)
        coords = labels = boxes = None
        if point_coords is not None:
            coords = torch.as_tensor(self.transform.apply_coords(np.asarray(point_coords), self.original_size),
                                     dtype=torch.float, device=self.device)
            labels = torch.as_tensor(np.asarray(point_labels), dtype=torch.int, device=self.device)
        if box is not None:
            boxes = torch.as_tensor(self.transform.apply_boxes(np.asarray(box), self.original_size),
                                    dtype=torch.float, device=self.device)
        masks, scores, low_res = self.predict_torch(coords, labels, boxes, None, multimask_output, return_logits)
        return masks.cpu().numpy(), scores.float().cpu().numpy(), low_res.float().cpu().numpy()


class FloatScores(SamAutomaticMaskGenerator):
    """SamAutomaticMaskGenerator whose crops' scores leave `_process_crop` in fp32: under autocast the
    decoder returns half-precision scores, which segment_anything's `MaskData.to_numpy` cannot convert
    (SAM 1 has no autocast support of its own)."""

    def _process_crop(self, *args: Any, **kwargs: Any):
        data = super()._process_crop(*args, **kwargs)
        for key, value in data.items():
            if isinstance(value, torch.Tensor) and value.dtype in (torch.float16, torch.bfloat16):
                data[key] = value.float()
        return data

"""SAM-style models as `transformers` serves them (EdgeTAM, SAM 3): one image through the image
processor and the vision encoder, and a clip through the video tracker's inference session.

transformers gives these models one API (the Sam2Video one): `processor.init_video_session` holds
the clip's frames resized and normalised, `add_inputs_to_inference_session` places a prompt per
object, `model(inference_session, frame_idx)` decodes the prompted frame and
`propagate_in_video_iterator` yields every later frame. A family names its classes in the spec's
config (`image_model`, `video_model`, `image_processor`, `video_processor_class`, `encode`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from segbench.families._shared.hf_models import transformers_class
from segbench.measure.oom import release_memory
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.images import ImageBatches
from segbench.workloads.tracking import ClipTracking, timed


def image_processor(spec_config: dict, size: int) -> Any:
    """The model's image processor at `size`, built from its defaults (no preprocessor_config.json needed)."""
    return transformers_class(spec_config["image_processor"])(size={"height": size, "width": size})


def video_processor(spec_config: dict, size: int) -> Any:
    """The tracker's processor (image processor + video processor) at `size`, built offline."""
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

    cls = transformers_class(spec_config["video_processor_class"])
    return cls(image_processor=image_processor(spec_config, size),
               video_processor=Sam2VideoVideoProcessor(size={"height": size, "width": size}))


class HfImage(ImageBatches):
    """The image processor (resize, normalise) and the vision encoder on a batch: what a labeling
    tool runs once per image before any prompt, the counterpart of SAM 2.1's `set_image`."""

    name = "image"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.size = int(model.resolution[0])
        self.processor = image_processor(model.spec.config, self.size)
        self.embeddings: Any = None

    def encode(self, pixel_values: torch.Tensor) -> Any:
        return getattr(self.model.module, self.model.spec.config["encode"])(pixel_values=pixel_values)

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        batch = self.batch(batch_size)

        def step() -> None:
            pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            self.embeddings = self.encode(pixels)

        return step

    def release(self) -> None:
        self.embeddings = None

    def cost_query(self, batch_size: int):
        return super().cost_query(batch_size).replace(model_size=(self.size, self.size))

    def params(self) -> dict[str, Any]:
        return {**super().params(),
                "timed": f"image processor (resize to {self.size}, normalise) + {self.model.spec.config['encode']}"}


class HfVideo(ClipTracking):
    """A transformers video tracker over a clip: one step = one frame of propagate_in_video_iterator,
    masks post-processed to the clip's size and moved to the host (as the transformers docs' loop does).

    `--offload video` keeps the session's frames in host RAM (video_storage_device="cpu"), `state`
    its per-frame outputs (inference_state_device="cpu")."""

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        self.tracker = model.module
        self.num_maskmem = int(self.tracker.config.num_maskmem)
        super().__init__(model, device, options)
        self.processor = video_processor(model.spec.config, self.size)
        self._session: Any = None

    def release(self) -> None:
        self._session = None  # the clip's frames and every frame's outputs

    def _add_prompts(self, session: Any, prompts: list[tuple[float, ...]]) -> None:
        ids = list(range(1, len(prompts) + 1))
        if self.options.prompt == "box":
            self.processor.add_inputs_to_inference_session(session, frame_idx=self.prompt_frame, obj_ids=ids,
                                                           input_boxes=[[list(p) for p in prompts]])
        else:
            self.processor.add_inputs_to_inference_session(
                session, frame_idx=self.prompt_frame, obj_ids=ids,
                input_points=[[[list(p)] for p in prompts]], input_labels=[[[1] for _ in prompts]])

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        self._session = None  # the previous batch size's session goes first
        release_memory()
        clip = self.clip_for(batch_size)
        cpu = torch.device("cpu")
        session, load_s = timed(self.timer, lambda: self.processor.init_video_session(
            video=clip.frames, inference_device=self.device,
            video_storage_device=cpu if self.options.offload_video_to_cpu else self.device,
            inference_state_device=cpu if self.options.offload_state_to_cpu else self.device))
        run = self.start_run(clip, batch_size, load_s)
        prompts = self.prompts_for(clip, batch_size)
        frames: list[Iterator[Any]] = []
        h, w = clip.source_size

        def prompt() -> None:
            session.reset_tracking_data()
            self._add_prompts(session, prompts)
            self.tracker(inference_session=session, frame_idx=self.prompt_frame)
            frames[:] = [iter(self.tracker.propagate_in_video_iterator(session, start_frame_idx=self.prompt_frame))]

        run["prompt_s"] = self.timer(prompt)
        self._session = session

        def advance() -> int:
            try:
                out = next(frames[0])
            except StopIteration:
                self.restarts += 1
                prompt()
                out = next(frames[0])
            masks = self.processor.post_process_masks([out.pred_masks], original_sizes=[[h, w]], binarize=True)[0]
            masks.cpu()
            return int(out.frame_idx)

        return self.frame_step(advance)

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "offload_video_to_cpu": self.options.offload_video_to_cpu,
            "offload_state_to_cpu": self.options.offload_state_to_cpu,
            "timed": "one step = one frame of propagate_in_video_iterator (vision encoder once; memory attention, "
                     "mask decoder and memory encoder per object), masks post-processed to the clip size on the host",
        }



def fixed_text_ids(length: int, words: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) of a short text prompt without a tokenizer: start token, `words`
    token ids, end token, padded to the model's context `length` (CLIP's layout; the cost does not
    depend on which words)."""
    rng = np.random.default_rng(seed)
    start, end = vocab - 2, vocab - 1  # CLIP: <|startoftext|> and <|endoftext|> close the vocabulary
    ids = np.full((1, length), end, dtype=np.int64)
    ids[0, 0] = start
    ids[0, 1:1 + words] = rng.integers(0, vocab - 2, size=words)
    mask = np.zeros((1, length), dtype=np.int64)
    mask[0, :words + 2] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)

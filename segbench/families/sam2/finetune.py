"""Fine-tuning SAM 2.1 as most people do it: the image encoder frozen, the prompt encoder and mask
decoder trained on box prompts of labeled objects (the loop of the widely copied "fine-tune SAM 2 in
60 lines" recipe, with a batch of images per step). The frozen encoder still runs on every image of
every step, under no_grad, and is timed with the rest."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from segbench.families.sam2.still import make_predictor
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.training import TrainStep


def dice_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel BCE plus soft Dice: the usual mask loss of SAM fine-tunes."""
    prob = logits.sigmoid()
    inter = (prob * target).sum((-1, -2))
    dice = 1 - (2 * inter + 1) / (prob.sum((-1, -2)) + target.sum((-1, -2)) + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + dice.mean()


class SamDecoderTrain(TrainStep):
    optimizer = "adamw"
    lr = 1e-5  # the recipe's AdamW settings
    weight_decay = 4e-5
    what = "prompt encoder and mask decoder (image encoder frozen)"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.size = int(model.resolution[0])
        self.prompt_encoder = self.copied(model.module.sam_prompt_encoder).train()
        self.decoder = self.copied(model.module.sam_mask_decoder).train()
        self.predictor = make_predictor(model.module, self.size)  # the frozen encoder, as loaded

    def trainable_module(self) -> torch.nn.Module:
        return torch.nn.ModuleList([self.prompt_encoder, self.decoder])

    def loss_for(self, batch_size: int) -> Callable[[], torch.Tensor]:
        images = self.batch(batch_size)
        h, w = images[0].shape[:2]
        targets = self.targets(batch_size, h, w, 2)
        transforms, low = self.predictor._transforms, self.size // 4
        boxes = [transforms.transform_boxes(torch.from_numpy(t.boxes).to(self.device), normalize=True, orig_hw=(h, w))
                 for t in targets]
        # The decoder's 256x256 (at 1024) logits are compared with the masks at that size.
        masks = [F.interpolate(torch.from_numpy(t.masks)[:, None].float(), size=(low, low), mode="nearest").to(self.device)
                 for t in targets]
        predictor, prompts, decoder = self.predictor, self.prompt_encoder, self.decoder

        def loss() -> torch.Tensor:
            predictor.set_image_batch(images)  # no_grad inside sam2: the frozen encoder
            features = predictor._features
            total = torch.zeros((), device=self.device)
            for i, (box, target) in enumerate(zip(boxes, masks)):
                labels = torch.tensor([[2, 3]], dtype=torch.int, device=self.device).repeat(len(box), 1)
                sparse, dense = prompts(points=(box.reshape(-1, 2, 2), labels), boxes=None, masks=None)
                logits, _, _, _ = decoder(
                    image_embeddings=features["image_embed"][i].unsqueeze(0), image_pe=prompts.get_dense_pe(),
                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False,
                    repeat_image=True, high_res_features=[f[i].unsqueeze(0) for f in features["high_res_feats"]])
                total = total + dice_bce(logits.float(), target)
            return total / len(boxes)

        return loss

    def input_info(self) -> dict[str, Any]:
        return {**super().input_info(), "prompts": "one box per instance"}

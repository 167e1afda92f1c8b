"""The model library's own documented loop (the sam2 README's predictor calls, MONAI's bare
sliding_window_inference), written as a user writes it and timed beside segbench's step of the same
inputs. Not a runtime but a harness: it replaces the step, in eager PyTorch, and the workload says
whether it has one (`Workload.official`)."""

from __future__ import annotations

from segbench.backends.base import Backend

BACKEND = Backend(name="official", help="the model library's own loop in place of segbench's step",
                  replaces="step")

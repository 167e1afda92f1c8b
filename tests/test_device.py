"""Device and precision rules, with torch's CUDA queries faked where this machine has no GPU."""

from __future__ import annotations

import pytest
import torch

from segbench.errors import InputError
from segbench.measure.device import check_precision, precision_for_capability
from segbench.measure.oom import is_oom


@pytest.mark.parametrize("cc, expected", [((6, 1), "fp32"), ((7, 0), "fp16"), ((7, 5), "fp16"), ((8, 0), "bf16"),
                                          ((8, 9), "bf16"), ((9, 0), "bf16")])
def test_precision_for_capability(cc, expected):
    assert precision_for_capability(cc) == expected


def test_bf16_is_checked_on_the_device_that_runs(monkeypatch):
    """torch.cuda.is_bf16_supported() asks the current device; a T4 at cuda:1 must still be refused."""
    capabilities = {0: (8, 0), 1: (7, 5)}
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: capabilities[torch.device(d).index])
    check_precision(torch.device("cuda", 0), "bf16")
    with pytest.raises(InputError, match="compute capability 8.0"):
        check_precision(torch.device("cuda", 1), "bf16")
    check_precision(torch.device("cuda", 1), "fp16")


@pytest.mark.parametrize("text", ["CUDA out of memory. Tried to allocate 2.00 GiB",
                                  "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
                                  "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1073741824 bytes"])
def test_out_of_memory_in_its_several_wordings(text):
    assert is_oom(RuntimeError(text))


def test_other_errors_are_not_oom():
    assert not is_oom(RuntimeError("expected scalar type Float but found BFloat16"))
    assert not is_oom(ValueError("out of memory"))  # only runtime/memory errors carry allocator failures

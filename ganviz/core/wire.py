"""Pickling for the pipes between processes: CPU tensors travel as numpy arrays (issue 20).

A plain pickle of a torch tensor goes through `torch.save` for its storage, and unpickling it through
`torch.load`: a snapshot's frozen weight copies (~20 small tensors, ~0.3 MB) cost the training process
~0.9 ms to pickle and the window ~1.3 ms to unpickle per frame. As numpy arrays rebuilt by
`torch.from_numpy` the same message costs ~0.17 and ~0.09 ms. Values, shapes and dtypes are kept; a tensor
numpy cannot hold (bfloat16, one that requires grad, a view with lazy conjugation, a subclass such as
nn.Parameter, not on the CPU, not strided) is pickled the usual way. Tensors that shared storage arrive as
separate copies, which snapshots and replies never rely on.
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any


def _tensor_from_numpy(array: Any) -> Any:
    import torch

    return torch.from_numpy(array)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)  # by name: torch may be half imported by another thread (the child's heartbeat pickles)
        if cls.__name__ != "Tensor" or cls.__module__ != "torch":
            return NotImplemented
        torch = sys.modules["torch"]  # complete: one of its tensors exists
        if (obj.device.type != "cpu" or obj.layout is not torch.strided or obj.requires_grad or obj.is_conj()
                or obj.is_neg() or obj.dtype not in _numpy_dtypes(torch)):
            return NotImplemented
        return _tensor_from_numpy, (obj.numpy(),)


_DTYPES: frozenset | None = None


def _numpy_dtypes(torch: Any) -> frozenset:
    global _DTYPES
    if _DTYPES is None:
        _DTYPES = frozenset({torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128,
                             torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool})
    return _DTYPES


def dumps(message: Any) -> bytes:
    """`pickle.dumps(message)` with CPU tensors as numpy arrays; read back with plain `pickle.loads`."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    return buf.getvalue()

"""core.wire: CPU tensors cross the pipes as numpy arrays, and a lazy snapshot materialises the same (issue 20)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ganviz.core import wire
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8,
                                   torch.bool, torch.complex64])
def test_a_cpu_tensor_comes_back_equal_with_its_dtype_and_shape(dtype):
    t = (torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) - 7).to(dtype)
    back = pickle.loads(wire.dumps({"t": t}))["t"]
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == (2, 3, 4)
    assert torch.equal(back, t)


def test_views_and_zero_dim_tensors_come_back_as_their_values():
    base = torch.arange(20.0).reshape(4, 5)
    msg = [base[:, 1::2], base.t(), base[2:], torch.tensor(3.5)]
    back = pickle.loads(wire.dumps(msg))
    for a, b in zip(msg, back, strict=True):
        assert torch.equal(a, b) and a.shape == b.shape
    back[0][0, 0] = -1.0  # a copy: writable, and the sender's tensor is untouched
    assert base[0, 1] == 1.0


def test_tensors_numpy_cannot_hold_go_the_usual_way_and_keep_what_they_are():
    bf = torch.linspace(0, 1, 7, dtype=torch.bfloat16)
    grad = torch.ones(3, requires_grad=True)
    param = torch.nn.Parameter(torch.full((2,), 2.0))
    back = pickle.loads(wire.dumps((bf, grad, param)))
    assert back[0].dtype == torch.bfloat16 and torch.equal(back[0], bf)
    assert back[1].requires_grad
    assert isinstance(back[2], torch.nn.Parameter) and torch.equal(back[2], param)


def test_a_snapshot_message_carries_no_torch_storage_records():
    t = Trainer(TrainConfig(seed=3))
    t.train(20)
    snap = t.snapshot(lazy=True, defer_metrics=True)
    snap.prepare_transfer()
    fast, plain = wire.dumps(snap), pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL)
    assert b"_rebuild_tensor" in plain and b"_load_from_bytes" in plain  # what a plain pickle writes per tensor
    assert b"_rebuild_tensor" not in fast and b"_load_from_bytes" not in fast
    assert b"_tensor_from_numpy" in fast


def test_a_lazy_snapshot_sent_by_wire_materialises_exactly_as_a_plain_pickle():
    t = Trainer(TrainConfig(seed=5))
    t.train(30)
    snap = t.snapshot(lazy=True, defer_metrics=True)
    snap.prepare_transfer()
    a = pickle.loads(wire.dumps(snap)).materialized()
    b = pickle.loads(pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL)).materialized()
    assert a.fake.shape == (512, 2) and a.field2d.values.shape == (64, 64)
    for name in ("real", "fake", "d_real", "d_fake", "grad_fake", "z_grid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.field2d.values, b.field2d.values)
    assert a.metrics.keys() == b.metrics.keys() and a.metrics_step == 30 and np.isfinite(a.metrics["w1"])
    np.testing.assert_array_equal([a.metrics[k] for k in a.metrics], [b.metrics[k] for k in a.metrics])  # NaN = NaN

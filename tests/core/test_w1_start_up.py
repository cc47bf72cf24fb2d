"""Exact 2D W1 without importing scipy.optimize (issue 20: `ganviz train`'s first row paid 0.27-0.5 s for it)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment

from ganviz.core import metrics as M


def test_w1_exact_equals_the_public_scipy_assignment_and_its_theory_values():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + [0.5, -1.0]
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))
    rows, cols = linear_sum_assignment(cost)
    assert M.w1_exact(x, y) == float(cost[rows, cols].mean())
    shift = x + [1.2, 0.0]  # a pure shift of a set is matched to itself: W1 = |theta| (THEORY.md section 3)
    assert abs(M.w1_exact(x, shift) - 1.2) < 1e-12


def test_w1_exact_falls_back_to_the_public_import(monkeypatch):
    def missing():
        raise ImportError("moved")

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(64, 2)), rng.normal(size=(64, 2))
    expected = M.w1_exact(x, y)
    monkeypatch.setattr(M, "_LSAP", None)
    monkeypatch.setattr(M, "_load_lsap_extension", missing)
    assert M.w1_exact(x, y) == expected
    assert M._LSAP is linear_sum_assignment


def test_w1_exact_in_a_fresh_process_imports_no_scipy_optimize():
    code = ("import sys, numpy as np; from ganviz.core.metrics import w1_exact; "
            "x = np.array([[0., 0.], [1., 0.], [0., 2.]]); "
            "print(w1_exact(x, x[::-1] + [3., 4.]), 'scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    w1, imported = out.split()
    # x[::-1] + (3, 4) is x shifted by (3, 4) (a permutation does not change the set): W1 = 5
    assert abs(float(w1) - 5.0) < 1e-12 and imported == "False"

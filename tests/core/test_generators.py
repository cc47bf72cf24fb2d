"""Generator kinds as strategies (core.generators): the fixed generators' samples and densities, shared by the
trainer and the views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz.core.config import GENERATOR_MODES, TrainConfig
from ganviz.core.distributions import make_distribution
from ganviz.core.fields import p_g_1d
from ganviz.core.generators import FIXED_PARAMS, GENERATORS, generator_kind


def test_every_config_generator_has_a_strategy():
    assert tuple(GENERATORS) == GENERATOR_MODES
    assert [g.learned for g in GENERATORS.values()] == [True, False, False]
    assert FIXED_PARAMS == ("shift_x", "shift_y", "noise_sigma")
    with pytest.raises(KeyError, match="unknown generator 'gan'"):
        generator_kind("gan")
    with pytest.raises(TypeError):
        generator_kind("learned").transform(torch.zeros(2, 2), TrainConfig(), torch.Generator())


def test_shift_adds_theta_and_its_density_is_the_shifted_data():
    cfg = TrainConfig(generator="shift", shift_x=1.5, shift_y=-2.0)
    kind = generator_kind("shift")
    base = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(kind.transform(base, cfg, torch.Generator()), base + torch.tensor([1.5, -2.0]))
    assert torch.equal(kind.transform(base[:, :1], cfg, torch.Generator()), base[:, :1] + 1.5)  # 1D: theta_x
    data = make_distribution("gaussian-1d")
    x = np.linspace(-8, 12, 4001)
    p = kind.density_1d(cfg, data, x)
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-4)
    mean_data = np.trapezoid(x * data.density(x[:, None]), x)
    assert np.trapezoid(x * p, x) == pytest.approx(mean_data + 1.5, abs=1e-3)
    assert kind.has_density(data) and "θ = (1.5, -2)" in kind.note(cfg)


def test_noise_widens_each_mode_by_sigma():
    cfg = TrainConfig(generator="noise", noise_sigma=0.5)
    kind = generator_kind("noise")
    base = torch.zeros(20000, 1)
    fake = kind.transform(base, cfg, torch.Generator().manual_seed(1))
    assert float(fake.std()) == pytest.approx(0.5, rel=0.03)
    data = make_distribution("gaussian-1d")  # a Gaussian mixture: p_g in closed form
    x = np.linspace(-10, 10, 8001)
    p = kind.density_1d(cfg, data, x)
    var_data = np.trapezoid(x ** 2 * data.density(x[:, None]), x) - np.trapezoid(x * data.density(x[:, None]), x) ** 2
    var_g = np.trapezoid(x ** 2 * p, x) - np.trapezoid(x * p, x) ** 2
    assert var_g == pytest.approx(var_data + 0.25, rel=1e-3)
    uniform = make_distribution("uniform-1d")  # no closed form: the views use a KDE of samples
    assert not kind.has_density(uniform) and kind.density_1d(cfg, uniform, x) is None
    fake_samples = np.random.default_rng(0).uniform(-1, 1, 4000)
    kde = p_g_1d(cfg, uniform, x, fake_samples)
    assert np.trapezoid(kde, x) == pytest.approx(1.0, abs=1e-3) and kde[np.abs(x) < 0.5].min() > 0.4
    assert p_g_1d(cfg, uniform, x, None) is None


def test_the_trainer_and_the_views_draw_the_same_fixed_fakes():
    from ganviz.core.trainer import Trainer

    for cfg in (TrainConfig(generator="shift", shift_x=0.7, d_width=8), TrainConfig(generator="noise", d_width=8)):
        t = Trainer(cfg)
        view = t.snapshot(lazy=True).lazy.source
        a = t._sample_fake(64, torch.Generator().manual_seed(5), grad=False)
        b = view.sample_fake(64, torch.Generator().manual_seed(5))
        assert torch.equal(a, b), cfg.generator

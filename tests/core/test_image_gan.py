"""Image GANs in the engine: DCGAN models, every objective and remedy on image data, determinism, lazy
snapshots across a process boundary, the views and the coverage metrics (issue #8)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from ganviz.core.config import ConfigError, TrainConfig
from ganviz.core.images.dcgan import DCGANDiscriminator, DCGANGenerator, FrozenNet, build_dcgan
from ganviz.core.images.distribution import builtin
from ganviz.core.images.views import ImageViewState, classifier_nowait, interpolation_path
from ganviz.core.objectives import OBJECTIVES
from ganviz.core.trainer import Trainer

SMALL = dict(data="digits", batch_size=16, z_dim=16, conv_channels=8, n_view=64, device="cpu")


def small(**changes) -> TrainConfig:
    return TrainConfig(**{**SMALL, **changes})


def test_dcgan_shapes_range_and_flat_interface():
    g, d = build_dcgan(16, 8, 1, 0, torch.device("cpu"))
    z = torch.randn(5, 16)
    x = g(z).detach()
    assert x.shape == (5, 784)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0  # tanh output, like the data
    assert d(x).shape == (5,)
    # the conv layout of the issue: dense -> 7x7 -> transposed convs -> 28x28, and the mirror
    convs = [m for m in g.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.stride for c in convs] == [(2, 2), (2, 2)] and g.net[3].unflattened_size == (16, 7, 7)
    assert [m.out_channels for m in d.net if isinstance(m, torch.nn.Conv2d)] == [8, 16]


def test_packed_discriminator_sees_samples_as_channels():
    d = DCGANDiscriminator(channels=8, pack=2)
    assert d.net[1].in_channels == 2
    x = torch.randn(6, 784)
    assert d(x).shape == (3,)  # 3 packs of 2
    assert d.per_sample(x).shape == (6,)


def test_builtin_images_are_a_distribution_in_minus_one_one():
    data = builtin("digits")
    gen = torch.Generator().manual_seed(0)
    x = data.sample(100, gen)
    assert x.shape == (100, 784) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert float(x.max()) > 0.9 and float(x.min()) < -0.99  # white strokes on black
    assert data.class_names == tuple("0123456789") and len(data) == 10_000
    again = data.sample(100, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_objective_trains_on_images(objective):
    t = Trainer(small(objective=objective))
    assert isinstance(t.G, DCGANGenerator) and isinstance(t.D, DCGANDiscriminator)
    for _ in range(3):
        t.iteration()
    snap = t.snapshot(with_metrics=True)
    assert not any(e.kind == "diverged" for e in snap.events)
    assert np.isfinite(snap.history.values["d_loss"]).all() and np.isfinite(snap.history.values["g_loss"]).all()
    im = snap.images
    assert im is not None and im.fake.shape == (64, 28, 28) and im.real.shape == (64, 28, 28)
    assert im.interp.shape == (2, 10, 28, 28)
    assert snap.d_real.shape == (64,) and snap.d_fake.shape == (64,)  # n_view = 64 here
    assert snap.dim == 784 and snap.bounds == (-1.0, 1.0) and snap.modes is None
    key = "jsd_est" if OBJECTIVES[objective].is_probability else "critic_gap"
    assert np.isfinite(snap.metrics[key])


@pytest.mark.parametrize("changes", [dict(pack=2), dict(mbdisc=4, mbdisc_dim=3), dict(mbstd=1), dict(unroll=1),
                                     dict(r1_gamma=1.0), dict(objective="wgan-gp"), dict(instance_noise=0.1),
                                     dict(label_smoothing=0.1), dict(arch="mlp", g_width=32, d_width=32)])
def test_remedies_and_regularisers_work_on_images(changes):
    t = Trainer(small(**changes))
    for _ in range(2):
        t.iteration()
    snap = t.snapshot(with_metrics=False)
    assert not any(e.kind == "diverged" for e in snap.events)
    assert np.isfinite(snap.images.fake).all() and np.isfinite(snap.d_fake).all()


def test_image_training_is_deterministic_per_seed():
    a, b, c = Trainer(small()), Trainer(small()), Trainer(small(seed=1))
    for t in (a, b, c):
        for _ in range(4):
            t.iteration()
    for (k, va), vb in zip(a.G.state_dict().items(), b.G.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.G.net[0].weight, c.G.net[0].weight)
    sa, sb = a.snapshot(), b.snapshot()
    assert np.array_equal(sa.images.fake, sb.images.fake)
    # coverage keys appear once the classifier is ready (trained in the background on first use)
    common = sa.metrics.keys() & sb.metrics.keys()
    assert {"d_real_mean", "jsd_est"} <= common
    assert all(np.array_equal(sa.metrics[k], sb.metrics[k], equal_nan=True) for k in common)


def test_lazy_image_snapshot_crosses_a_process_boundary_bitwise():
    t = Trainer(small())
    for _ in range(3):
        t.iteration()
    eager = t.snapshot(with_metrics=False)
    t2 = Trainer(small())
    for _ in range(3):
        t2.iteration()
    lazy = t2.snapshot(with_metrics=False, lazy=True)
    assert lazy.images is None  # nothing computed on the training thread
    lazy.prepare_transfer()
    shipped = pickle.loads(pickle.dumps(lazy)).materialized()
    assert np.array_equal(shipped.images.fake, eager.images.fake)
    assert np.array_equal(shipped.images.interp, eager.images.interp)
    assert np.array_equal(shipped.d_real, eager.d_real)


def test_views_do_not_change_the_run():
    """Snapshots (and the generator's batch norm running in eval mode on a copy) leave training untouched."""
    a, b = Trainer(small()), Trainer(small())
    for i in range(6):
        a.iteration()
        b.iteration()
        if i % 2:
            a.snapshot(with_metrics=True)
    assert torch.equal(a.G.net[1].running_mean, b.G.net[1].running_mean)
    assert torch.equal(a.D.net[-1].weight, b.D.net[-1].weight)


def test_interpolation_path_ends_at_the_endpoints():
    za, zb = torch.randn(3, 8), torch.randn(3, 8)
    for prior in ("gaussian", "uniform"):
        p = interpolation_path(za, zb, 7, prior)
        assert p.shape == (3, 7, 8)
        assert torch.allclose(p[:, 0], za, atol=1e-5) and torch.allclose(p[:, -1], zb, atol=1e-5)
    # slerp keeps the norm between the endpoints' norms for equal-norm endpoints (a line would shrink it)
    zb2 = zb / zb.norm(dim=1, keepdim=True) * za.norm(dim=1, keepdim=True)
    mid = interpolation_path(za, zb2, 3, "gaussian")[:, 1]
    assert torch.allclose(mid.norm(dim=1), za.norm(dim=1), rtol=1e-4)


def test_config_rules_for_image_data():
    with pytest.raises(ConfigError, match="arch=dcgan needs image data"):
        TrainConfig(data="ring8", arch="dcgan").validate()
    with pytest.raises(ConfigError, match="needs image_path"):
        TrainConfig(data="image-file").validate()
    with pytest.raises(ConfigError, match="generator=learned"):
        TrainConfig(data="digits", generator="shift").validate()
    TrainConfig(data="digits", arch="dcgan").validate()


def test_hot_swap_between_image_datasets_keeps_the_networks():
    t = Trainer(small())
    t.iteration()
    w = t.G.net[0].weight.detach().clone()
    t.set_config(data="shapes")
    assert torch.equal(t.G.net[0].weight, w)
    assert [e.kind for e in t.events][-1] == "dataset"
    assert t.snapshot(with_metrics=False).images.class_names == builtin("shapes").class_names


def test_image_file_data_trains(tmp_path):
    images, _ = builtin("digits").images[:200], None
    path = tmp_path / "mine.npz"
    np.savez(path, images=images, labels=builtin("digits").labels[:200])
    t = Trainer(small(data="image-file", image_path=str(path)))
    t.iteration()
    snap = t.snapshot(with_metrics=False)
    assert snap.images.real.shape == (64, 28, 28)
    assert np.isin(np.round((snap.images.real + 1) * 127.5), images.astype(np.float32)).all()


# ---------------------------------------------------------------------- coverage metrics (classifier)
@pytest.fixture(scope="module")
def classifier():
    entry = classifier_nowait("digits", wait=True)
    assert entry is not None
    return entry


class _Constant(torch.nn.Module):
    """A deliberately collapsed generator: the same image for every z."""

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__()
        self.image = image.reshape(1, 784)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image.expand(z.shape[0], 784).clone()


def test_collapsed_generator_scores_one_class(classifier):
    data = builtin("digits")
    three = torch.as_tensor(data.images[data.labels == 3][0], dtype=torch.float32) / 127.5 - 1
    cfg = small()
    t = Trainer(cfg)
    view = ImageViewState(cfg, t.D.frozen(), FrozenNet(_Constant(three)), t.z_fixed, t.z_interp, t.x_view,
                          torch.device("cpu"))
    m = view.metrics(0)
    assert m["classes_covered"] == 1
    assert m["class_kl"] == pytest.approx(math.log(10), abs=1e-9)
    assert m["class_share_3"] == 1.0
    views = view.compute_views()["images"]
    assert (views.fake_labels == 3).all() and views.classifier_status == "ready"


def test_real_data_as_generator_covers_every_class(classifier):
    """The upper end of the scale: a 'generator' that returns real digits covers all ten classes with a
    class histogram close to uniform (KL well under 0.05 nats on 1024 samples) and a small Fréchet."""
    data = builtin("digits")

    class Replay(torch.nn.Module):
        def forward(self, z):
            g = torch.Generator().manual_seed(int(z.shape[0]))
            return data.sample(z.shape[0], g)

    cfg = small()
    t = Trainer(cfg)
    m = ImageViewState(cfg, t.D.frozen(), FrozenNet(Replay()), t.z_fixed, t.z_interp, t.x_view,
                       torch.device("cpu")).metrics(0)
    assert m["classes_covered"] == 10
    assert 0 <= m["class_kl"] < 0.05
    assert m["class_confidence"] > 0.9
    collapsed = ImageViewState(cfg, t.D.frozen(), FrozenNet(_Constant(data.sample(1, torch.Generator())[0])),
                               t.z_fixed, t.z_interp, t.x_view, torch.device("cpu")).metrics(0)
    assert collapsed["frechet"] > 10 * max(m["frechet"], 1e-3)


def test_short_run_gives_a_non_blank_grid_and_sensible_coverage(classifier):
    t = Trainer(TrainConfig(data="digits", batch_size=32, z_dim=32, conv_channels=16, d_lr=5e-4, g_lr=5e-4,
                            device="cpu"))
    first = t.snapshot(with_metrics=True)
    for _ in range(150):
        t.iteration()
    snap = t.snapshot(with_metrics=True)
    fake = snap.images.fake
    assert np.isfinite(fake).all()
    per_image_std = fake.reshape(64, -1).std(axis=1)
    assert (per_image_std > 0.2).mean() > 0.9  # images have strokes and background, not a flat grey
    assert fake.reshape(64, -1).std(axis=0).mean() > 0.05  # and differ from one another
    ink = (fake > 0).mean()
    assert 0.03 < ink < 0.5  # mostly dark background with light strokes, like the data (~0.15)
    m = snap.metrics
    assert 2 <= m["classes_covered"] <= 10 and 0 <= m["class_kl"] <= math.log(10) + 1e-9
    shares = [m[f"class_share_{i}"] for i in range(10)]
    assert sum(shares) == pytest.approx(1.0)
    assert m["frechet"] < first.metrics["frechet"]  # training moved G toward the data in feature space


def test_cli_trains_on_images_with_coverage_from_the_first_row(classifier, capsys):
    import json

    from ganviz import cli

    code = cli.main(["train", "--set", "data=digits", "--set", "batch_size=16", "--set", "z_dim=16", "--set",
                     "conv_channels=8", "--steps", "4", "--every", "2", "--quiet"])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        # Coverage is gated on sample quality (issue 15.7): only confidently classified samples cover a class,
        # so an untrained generator's blobs cover none, while the class shares and KL are still reported.
        assert 0.0 <= r["confident_share"] <= 1.0
        assert 0 <= r["classes_covered"] <= 10 and 0 <= r["class_kl"] <= math.log(10) + 1e-9
        if r["confident_share"] == 0.0:
            assert r["classes_covered"] == 0
        assert abs(sum(r[f"class_share_{c}"] for c in range(10)) - 1.0) < 1e-6


def test_cli_refuses_a_bad_image_file_with_exit_2(tmp_path, capsys):
    from ganviz import cli

    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    code = cli.main(["train", "--set", "data=image-file", "--set", f"image_path={bad}", "--steps", "2"])
    assert code == 2
    assert "broken.npy" in capsys.readouterr().err


def test_switching_to_a_bad_image_file_leaves_the_run_as_it_was(tmp_path):
    from ganviz.core.images.files import ImageDataError

    t = Trainer(small())
    t.iteration()
    before_cfg, w = t.config, t.G.net[0].weight.detach().clone()
    bad = tmp_path / "gone.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImageDataError, match="gone.npz"):
        t.set_config(data="image-file", image_path=str(bad))
    assert t.config == before_cfg and torch.equal(t.G.net[0].weight, w) and t.step == 1
    t.iteration()  # and it still trains

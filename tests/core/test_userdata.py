"""User datasets: KDE density (Scott), mixtures, names carried in the config, and loading point files."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy import stats

from ganviz.core import userdata as U
from ganviz.core.config import ConfigError, TrainConfig, check_value
from ganviz.core.distributions import DATASETS, GaussianMixture, dataset_info, distribution_for, make_distribution
from ganviz.core.scenes import load_scene, scene_to_toml
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)
SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=64, grid_size=16,
             w1_samples=64, mode_samples=200, kde_samples=256)


@pytest.fixture(autouse=True)
def _forget_user_datasets():
    yield
    U.unregister_user_datasets()


def ring_points(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 2 * np.pi, n)
    return np.stack([2 * np.cos(a), np.sin(a) + 0.5], axis=1) + 0.05 * rng.normal(size=(n, 2))


# ------------------------------------------------------------------------------------ the KDE distribution

@pytest.mark.parametrize("dim", [1, 2])
def test_kde_density_is_scipy_gaussian_kde_with_scott_bandwidth(dim):
    pts = ring_points(400)[:, :dim]
    d = U.KDEPoints("t", pts)
    assert d.bandwidth_factor == pytest.approx(400 ** (-1 / (dim + 4)))
    ref = stats.gaussian_kde(pts.T)  # Scott's rule is scipy's default
    assert ref.factor == pytest.approx(d.bandwidth_factor)
    x = np.random.default_rng(1).normal(size=(200, dim)) * 2
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x.T), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x.T), rtol=1e-10)  # cached second call
    assert d.density_is_exact is False and d.modes is None


def test_kde_integrates_to_one_and_bounds_hold_the_mass():
    d = U.KDEPoints("t", ring_points(200))
    x0, x1, y0, y1 = d.bounds
    n = 300
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    xx, yy = np.meshgrid(xs, ys)
    mass = d.density(np.stack([xx.ravel(), yy.ravel()], 1)).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert mass == pytest.approx(1.0, abs=2e-3)


def test_kde_samples_are_the_points_themselves_and_seeded():
    pts = ring_points(50)
    d = U.KDEPoints("t", pts)
    a = d.sample(1000, torch.Generator().manual_seed(3)).double().numpy()
    b = d.sample(1000, torch.Generator().manual_seed(3)).double().numpy()
    np.testing.assert_array_equal(a, b)
    dist = np.abs(a[:, None, :] - pts[None, :, :].astype(np.float32)).max(-1).min(1)
    assert dist.max() < 1e-6  # every sample is one of the points
    assert len(np.unique(a, axis=0)) > 40  # and they are drawn from all of them


def test_collinear_points_get_a_floored_covariance_and_identical_points_are_refused():
    t = np.linspace(-1, 1, 100)
    d = U.KDEPoints("line", np.stack([t, 2 * t], 1))
    evals = np.linalg.eigvalsh(d.data_cov)
    assert evals.min() == pytest.approx(U.EIGEN_FLOOR * evals.max())
    assert np.isfinite(d.log_prob(np.array([[0.0, 0.0], [0.5, -0.5]]))).all()
    with pytest.raises(ValueError, match="same"):
        U.KDEPoints("same", np.ones((10, 2)))


# ------------------------------------------------------------------------------------ rows, names, config

def test_user_config_names_the_data_by_content_and_registers_nothing():
    before = dict(DATASETS)
    rows = U.points_rows(ring_points(100))
    cfg = U.user_config(TrainConfig(**SMALL), rows, label="my ring!")
    cfg.validate()
    assert cfg.data.startswith("user:my-ring@") and len(cfg.data.split("@")[1]) == 8
    assert cfg.data == U.user_name("my ring!", rows) and dict(DATASETS) == before  # validation: no side effect
    info = dataset_info(cfg.data, cfg.data_points)
    assert info.dim == 2 and "KDE" in info.description
    with pytest.raises(KeyError, match="data_points"):  # the name alone is not enough: the rows travel along
        make_distribution(cfg.data)
    other = U.user_config(TrainConfig(**SMALL), U.points_rows(ring_points(100, seed=1)), label="my ring!")
    assert other.data != cfg.data  # same label, other points: another name
    with pytest.raises(ValueError, match="does not match data_points"):
        dataset_info(cfg.data, other.data_points)
    d = distribution_for(cfg)
    assert isinstance(d, U.KDEPoints) and len(d.points) == 100
    assert cfg.data_points == tuple(tuple(r) for r in np.array(rows).tolist())


def test_points_are_rounded_to_seven_significant_digits():
    rows = U.points_rows(np.array([[math.pi, -1e-5 * math.e], [123456.789, 2.0]]))
    assert rows == ((3.141593, -2.718282e-05), (123456.8, 2.0))


def test_name_and_rows_must_match():
    rows = U.points_rows(ring_points(30))
    name = U.user_name("a", rows)
    bad_hash = name[:-8] + ("0" * 8 if not name.endswith("0" * 8) else "1" * 8)
    with pytest.raises(ConfigError, match="does not match data_points"):
        TrainConfig().replace(data=bad_hash, data_points=rows)
    with pytest.raises(ConfigError, match="data_points is empty"):
        TrainConfig().replace(data=name)
    with pytest.raises(ConfigError, match="data="):
        TrainConfig().replace(data="user:bad name with spaces", data_points=rows)
    # the rows stay in the config after switching to a built-in dataset (harmless), and back works
    cfg = U.user_config(TrainConfig(), rows, "a")
    back = cfg.replace(data="ring8").replace(data=cfg.data)
    assert back == cfg


@pytest.mark.parametrize("value,needle", [
    (((1.0,),), "1 points"),
    (tuple((float(i),) for i in range(U.MAX_POINTS + 1)), "20001 points"),
    (((0.0, 1.0), (math.nan, 1.0)), "row 2 is not finite"),
    (((0.0, 1.0), (2.0,)), "different lengths"),
    (((0.0, 1.0, 2.0, 3.0, 4.0), (1.0, 1.0, 1.0, 1.0, 1.0)), "rows of 5 numbers"),
    (((0.0, "1"), (1.0, 2.0)), "not a number"),
    (((True, 1.0), (1.0, 2.0)), "not a number"),
    (((1.0, 1.0), (1.0, 1.0)), "all points are the same"),
    (((0.0, 0.1, 1.0), (1.0, 0.2, 1.0)), "common std"),
    (((0.0, 0.1, 0.0),), "weights must be > 0"),
    ([[0.0, 1.0], [1.0, 2.0]], "tuple of tuples"),
])
def test_bad_rows_name_the_problem(value, needle):
    with pytest.raises(ConfigError, match="data_points") as info:
        check_value("data_points", value)
    assert needle in str(info.value)


def test_default_config_is_unchanged_and_valid():
    cfg = TrainConfig()
    assert cfg.data_points == () and cfg.data == "ring8"
    cfg.validate()


def test_rows_pickle_compactly_and_equal_plain_tuples():
    rows = U.points_rows(ring_points(20000))
    cfg = U.user_config(TrainConfig(), rows, "big")
    blob = pickle.dumps(cfg)
    assert len(blob) < 400_000  # raw float64 bytes, not 40000 pickled Python floats
    back = pickle.loads(blob)
    assert back == cfg and back.data_points == tuple(map(tuple, np.array(rows).tolist()))
    assert pickle.loads(blob).data_points is back.data_points  # repeated snapshots share one object


def test_a_fresh_process_rebuilds_the_dataset_from_the_config(tmp_path):
    """The app's trainer runs in a spawned child: only the config travels, and it is enough."""
    rows = U.points_rows(ring_points(200))
    cfg = U.user_config(TrainConfig(**SMALL), rows, "child")
    (tmp_path / "cfg.pkl").write_bytes(pickle.dumps(cfg))
    code = (
        "import pickle, sys, json, torch; torch.set_num_threads(1)\n"
        "from ganviz.core.distributions import DATASETS\n"
        "from ganviz.core.trainer import Trainer\n"
        f"cfg = pickle.loads(open({str(tmp_path / 'cfg.pkl')!r}, 'rb').read())\n"
        "before = cfg.data in DATASETS\n"
        "t = Trainer(cfg); t.train(3)\n"
        "print(json.dumps([before, t.step, t.data.name, len(t.data.points)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, 3, cfg.data, 200]


@pytest.mark.parametrize("dim", [1, 2])
def test_user_points_train_a_few_steps(dim):
    rows = U.points_rows(ring_points(300)[:, :dim])
    cfg = U.user_config(TrainConfig(z_dim=dim, **SMALL), rows, f"pts{dim}")
    t = Trainer(cfg)
    t.train(5)
    snap = t.snapshot()
    assert t.step == 5 and snap.dim == dim and snap.data == cfg.data
    assert math.isfinite(snap.metrics["w1"]) and snap.metrics["w1"] > 0
    if dim == 1:
        f = snap.field1d
        assert np.isfinite(f.p_data).all() and f.p_data.max() > 0
        assert snap.metrics["jsd_true"] == pytest.approx(snap.metrics["jsd_true"])  # finite
    else:
        assert snap.field2d is not None and np.isfinite(snap.field2d.values).all()


def test_mixture_rows_give_the_exact_mixture_with_mode_metrics():
    means = [[-1.0, 0.5], [1.5, -0.5], [0.0, 2.0]]
    rows = U.mixture_rows(means, 0.1, weights=[1, 2, 1])
    cfg = U.user_config(TrainConfig(**SMALL), rows, "mix")
    d = make_distribution(cfg.data, data_points=cfg.data_points)
    ref = GaussianMixture("ref", np.array(means), 0.1, weights=np.array([0.25, 0.5, 0.25]))
    x = np.random.default_rng(0).normal(size=(50, 2))
    np.testing.assert_allclose(d.log_prob(x), ref.log_prob(x), rtol=1e-12)
    assert d.density_is_exact and d.mode_std == 0.1 and d.modes.shape == (3, 2)
    t = Trainer(cfg)
    t.train(3)
    m = t.snapshot(with_fields=False).metrics
    assert m["n_modes"] == 3 and 0 <= m["modes_covered"] <= 3
    one_d = U.user_config(TrainConfig(z_dim=1, **SMALL), U.mixture_rows([-2.0, 2.0], 0.3), "mix1")
    assert distribution_for(one_d).dim == 1


def test_scenes_carry_user_data_and_complete_the_name(tmp_path):
    scene = load_scene("dirac-gan")
    assert scene.config.data.startswith("user:dirac@")
    assert distribution_for(scene.config).modes.tolist() == [[0.0]]
    rows = U.points_rows(ring_points(40))
    cfg = U.user_config(TrainConfig(objective="hinge"), rows, "saved")
    path = tmp_path / "mine.toml"
    text = scene_to_toml("Mine", "my points", cfg)
    assert text.count("\n  [") == 10  # 40 rows, four per line
    path.write_text(text)
    assert load_scene(path).config == cfg
    path.write_text('[config]\ndata = "user:hand"\ndata_points = [[0, 0], [1, 2], [3, 1]]\n')
    cfg2 = load_scene(path).config
    assert cfg2.data == U.user_name("hand", ((0.0, 0.0), (1.0, 2.0), (3.0, 1.0)))


# ------------------------------------------------------------------------------------ point files

def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_comments_and_mixed_separators(tmp_path):
    p = write(tmp_path, "pts.csv", "# my points\nx,y\n0.5, 1\n\n-1;2.5\n3\t-4\n1e-1 2E1\n")
    pts = U.load_points(p)
    np.testing.assert_array_equal(pts, [[0.5, 1], [-1, 2.5], [3, -4], [0.1, 20]])
    one = U.load_points(write(tmp_path, "one.txt", "1\n2\n3.5\n"))
    assert one.shape == (3, 1) and one[:, 0].tolist() == [1, 2, 3.5]


def test_npy_files(tmp_path):
    for arr, shape in [(np.arange(10.0), (10, 1)), (np.arange(20).reshape(10, 2), (10, 2)),
                       (np.arange(8, dtype=np.float32).reshape(8, 1), (8, 1))]:
        p = tmp_path / "a.npy"
        np.save(p, arr)
        got = U.load_points(p)
        assert got.shape == shape and got.dtype == np.float64
        np.testing.assert_array_equal(got.ravel(), np.asarray(arr, dtype=np.float64).ravel())


def _bad_file(tmp_path, kind: str):
    if kind == "bad number":
        return write(tmp_path, "b.csv", "1,2\n3,4\n5,abc\n")
    if kind == "wrong columns":
        return write(tmp_path, "b.csv", "1,2\n3,4\n5,6,7\n")
    if kind == "three columns":
        return write(tmp_path, "b.csv", "1,2,3\n4,5,6\n")
    if kind == "nan":
        return write(tmp_path, "b.csv", "1,2\nnan,4\n")
    if kind == "inf":
        return write(tmp_path, "b.csv", "1,2\n3,-inf\n")
    if kind == "empty":
        return write(tmp_path, "b.csv", "")
    if kind == "only comments":
        return write(tmp_path, "b.csv", "# nothing\n\n# here\n")
    if kind == "huge":
        return write(tmp_path, "b.csv", "".join(f"{i},{i % 7}\n" for i in range(U.MAX_POINTS + 1)))
    if kind == "one point":
        return write(tmp_path, "b.csv", "1,2\n")
    if kind == "all the same":
        return write(tmp_path, "b.csv", "1,2\n1,2\n1,2\n")
    if kind == "not utf-8":
        p = tmp_path / "b.csv"
        p.write_bytes(b"\xff\xfe1,2\n\x80\x81\n")
        return p
    if kind == "unsupported type":
        return write(tmp_path, "b.json", "[[1, 2]]")
    p = tmp_path / "b.npy"
    if kind == "3D npy":
        np.save(p, np.zeros((4, 2, 2)))
    elif kind == "3 columns npy":
        np.save(p, np.zeros((4, 3)))
    elif kind == "pickled object npy":
        np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif kind == "string npy":
        np.save(p, np.array(["1", "2"]))
    elif kind == "nan npy":
        np.save(p, np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    elif kind == "huge npy":
        np.save(p, np.zeros((U.MAX_POINTS + 1, 2)))
    elif kind == "not npy":
        p.write_bytes(b"hello, not an array")
    return p


@pytest.mark.parametrize("kind,needle", [
    ("bad number", "line 3: 'abc' is not a number"),
    ("wrong columns", "line 3: 3 columns, but line 1 has 2"),
    ("three columns", "line 1: 3 columns; points have 1 column (x) or 2 columns (x, y)"),
    ("nan", "line 2: 'nan' is not a finite number"),
    ("inf", "line 2: '-inf' is not a finite number"),
    ("empty", "no points in the file"),
    ("only comments", "no points in the file"),
    ("huge", f"line {U.MAX_POINTS + 1}: more than {U.MAX_POINTS} points"),
    ("one point", "only 1 point"),
    ("all the same", "all 3 points are the same"),
    ("not utf-8", "not a text file"),
    ("unsupported type", "unsupported file type '.json'"),
    ("3D npy", "shape (4, 2, 2)"),
    ("3 columns npy", "shape (4, 3)"),
    ("pickled object npy", "Python objects"),
    ("string npy", "is not numeric"),
    ("nan npy", "row 1 (0-based) is not finite"),
    ("huge npy", f"{U.MAX_POINTS + 1} points"),
    ("not npy", "not a .npy file"),
])
def test_bad_point_files_name_the_problem(tmp_path, kind, needle):
    path = _bad_file(tmp_path, kind)
    with pytest.raises(U.PointsError) as info:
        U.load_points(path)
    msg = str(info.value)
    assert needle in msg, msg
    assert msg.startswith(path.name + ":")


def test_a_missing_file_is_a_points_error(tmp_path):
    with pytest.raises(U.PointsError, match="cannot read"):
        U.load_points(tmp_path / "nope.csv")

"""Dirac-GAN (ganviz.core.dirac, `ganviz dirac`) against THEORY.md section 5 and Mescheder et al. (2018)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganviz import cli
from ganviz.core import dirac

H, STEPS, START = 0.2, 500, (1.0, 1.0)


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


# ------------------------------------------------------------------------------------------ the field

def test_standard_field_matches_theory_formula_and_is_orthogonal_to_position():
    th, ps = np.meshgrid(np.linspace(-3, 3, 41), np.linspace(-2.5, 3.5, 37))
    vt, vp = dirac.vector_field("standard", th, ps)
    assert vt.shape == th.shape and vp.shape == th.shape
    fp = sigmoid(-ps * th)  # f'(t) = sigmoid(-t) for f(t) = -log(1 + e^-t)
    np.testing.assert_allclose(vt, -ps * fp, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(vp, th * fp, rtol=1e-14, atol=1e-300)
    # x . v = 0 everywhere: the continuous flow conserves theta^2 + psi^2
    dot = th * vt + ps * vp
    assert np.all(np.abs(dot) <= 1e-15 * np.hypot(th, ps) * np.hypot(vt, vp) + 1e-300)


def test_scalar_inputs_and_param_validation():
    vt, vp = dirac.vector_field("r1", 1.0, 1.0, gamma=0.3)
    assert vt.shape == () and float(vp) == pytest.approx(1 * sigmoid(-1.0) - 0.3)
    with pytest.raises(ValueError, match="unknown method"):
        dirac.vector_field("nope", 0.0, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        dirac.vector_field("r1", 0.0, 0.0, gamma=-1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        dirac.vector_field("r1", 0.0, 0.0, beta=1.0)
    with pytest.raises(ValueError, match="alternating"):
        dirac.trajectory("wgan", "simultaneous", 0.2, 10, (1, 1), n_critic=5)
    with pytest.raises(ValueError, match="h must be"):
        dirac.trajectory("standard", "simultaneous", 0.0, 10, (1, 1))


def test_ns_wgan_and_gp_fields():
    th, ps = np.array([0.7, -1.2, 2.0]), np.array([1.3, 0.4, -0.5])
    vt, vp = dirac.vector_field("ns", th, ps)
    np.testing.assert_allclose(vt, -ps * sigmoid(ps * th))  # -psi f'(-psi theta)
    np.testing.assert_allclose(vp, th * sigmoid(-ps * th))
    vt, vp = dirac.vector_field("wgan", th, ps)
    np.testing.assert_array_equal(vt, -ps)
    np.testing.assert_array_equal(vp, th)
    # WGAN-GP: lambda (|psi| - 1)^2 -> d/dpsi = 2 lambda sign(psi)(|psi| - 1)
    vt, vp = dirac.vector_field("wgan-gp", th, ps, lam=0.7)
    np.testing.assert_allclose(vp, th - 2 * 0.7 * np.sign(ps) * (np.abs(ps) - 1))
    # the penalty's derivative agrees with a finite difference of the penalised critic objective
    lam, t0, p0, eps = 0.7, 0.3, 0.6, 1e-6

    def objective(p):
        return p * t0 - lam * (abs(p) - 1) ** 2

    fd = (objective(p0 + eps) - objective(p0 - eps)) / (2 * eps)
    assert float(dirac.vector_field("wgan-gp", t0, p0, lam=lam)[1]) == pytest.approx(fd, rel=1e-8)


def test_consensus_field_is_v_minus_gamma_grad_half_norm_squared():
    gamma = 0.3
    rng = np.random.default_rng(0)
    for th, ps in rng.uniform(-2, 2, size=(6, 2)):
        def half_sq(t, p):
            vt, vp = dirac.vector_field("standard", t, p)
            return 0.5 * (float(vt) ** 2 + float(vp) ** 2)

        e = 1e-6
        g = np.array([(half_sq(th + e, ps) - half_sq(th - e, ps)) / (2 * e),
                      (half_sq(th, ps + e) - half_sq(th, ps - e)) / (2 * e)])
        v = np.array([float(a) for a in dirac.vector_field("standard", th, ps)])
        vc = np.array([float(a) for a in dirac.vector_field("consensus", th, ps, gamma=gamma)])
        np.testing.assert_allclose(vc, v - gamma * g, atol=1e-8)


def test_instance_noise_quadrature_matches_seeded_monte_carlo():
    """Gauss-Hermite expectations (48 nodes) vs 400k seeded Monte Carlo samples, within 4 standard errors."""
    sigma, n = 0.8, 400_000
    rng = np.random.default_rng(1)
    for th, ps in [(1.0, 1.0), (-0.5, 2.0), (1.5, -0.7)]:
        e1, e2 = sigma * rng.standard_normal(n), sigma * rng.standard_normal(n)
        t = th + e1
        mc_t = -ps * sigmoid(-ps * t)
        mc_p = t * sigmoid(-ps * t) - e2 * sigmoid(ps * e2)
        vt, vp = dirac.vector_field("instance-noise", th, ps, sigma=sigma)
        assert abs(float(vt) - mc_t.mean()) < 4 * mc_t.std() / math.sqrt(n)
        assert abs(float(vp) - mc_p.mean()) < 4 * mc_p.std() / math.sqrt(n)
    # sigma = 0 is the standard GAN exactly
    np.testing.assert_allclose(dirac.vector_field("instance-noise", 0.7, -1.1, sigma=0.0),
                               dirac.vector_field("standard", 0.7, -1.1), rtol=1e-14)


# ------------------------------------------------------------------------------------------ eigenvalues

def test_jacobian_eigenvalues_theory_values():
    for m in ("standard", "ns"):
        np.testing.assert_allclose(dirac.jacobian_eigenvalues(m), [0.5j, -0.5j], atol=1e-15)
    # R1 gamma = 0.3 -> -0.15 +- 0.477i (THEORY.md); exactly -0.15 +- sqrt(0.25 - 0.0225) i
    ev = dirac.jacobian_eigenvalues("r1", gamma=0.3)
    np.testing.assert_allclose(ev, [-0.15 + 1j * math.sqrt(0.2275), -0.15 - 1j * math.sqrt(0.2275)], atol=1e-15)
    assert abs(ev[0].imag - 0.477) < 5e-4
    assert dirac.format_eigenvalues(ev) == "-0.15 \u00b1 0.477i"
    np.testing.assert_allclose(dirac.jacobian_eigenvalues("r2", gamma=0.3), ev)
    np.testing.assert_allclose(dirac.jacobian_eigenvalues("wgan"), [1j, -1j])
    np.testing.assert_allclose(dirac.jacobian_eigenvalues("consensus", gamma=0.3), [-0.075 + 0.5j, -0.075 - 0.5j])
    ev = dirac.jacobian_eigenvalues("instance-noise", sigma=1.0)  # -sigma^2/4 +- sqrt(sigma^4/16 - 1/4)
    np.testing.assert_allclose(ev, [-0.25 + 1j * math.sqrt(0.1875), -0.25 - 1j * math.sqrt(0.1875)])
    assert np.all(np.isnan(dirac.jacobian_eigenvalues("wgan-gp")))  # not differentiable at psi = 0


@pytest.mark.parametrize("method,params", [
    ("standard", {}), ("ns", {}), ("wgan", {}), ("r1", {"gamma": 0.3}), ("r2", {"gamma": 1.7}),
    ("consensus", {"gamma": 0.3}), ("instance-noise", {"sigma": 1.0}), ("instance-noise", {"sigma": 2.5}),
])
def test_analytic_eigenvalues_match_numerical_jacobian(method, params):
    np.testing.assert_allclose(dirac.jacobian_eigenvalues(method, **params),
                               dirac.jacobian_eigenvalues(method, numerical=True, **params), atol=1e-7)


def test_update_map_eigenvalues():
    # simultaneous GD: mu = 1 + h lambda = 1 +- 0.1i, |mu| = sqrt(1.01) > 1: spirals out
    mu = dirac.update_map_eigenvalues("standard", "simultaneous", 0.2)
    np.testing.assert_allclose(mu, [1 + 0.1j, 1 - 0.1j], atol=1e-8)
    # alternating GD on the linearisation has determinant 1: |mu| = 1, neither in nor out
    mu = dirac.update_map_eigenvalues("standard", "alternating", 0.2)
    np.testing.assert_allclose(np.abs(mu), [1.0, 1.0], atol=1e-8)
    assert np.abs(dirac.update_map_eigenvalues("r1", "simultaneous", 0.2, gamma=0.3)).max() < 0.975


# ------------------------------------------------------------------------------------------ trajectories

def test_simultaneous_gd_grows_by_exactly_h2_v2_each_step():
    traj = dirac.trajectory("standard", "simultaneous", H, STEPS, START)
    assert traj.shape == (STEPS + 1, 2)
    vt, vp = dirac.vector_field("standard", traj[:-1, 0], traj[:-1, 1])
    r2 = (traj ** 2).sum(1)
    growth = r2[1:] - r2[:-1]
    predicted = H ** 2 * (vt ** 2 + vp ** 2)
    # ||x + h v||^2 = ||x||^2 + 2h x.v + h^2 ||v||^2 and x.v = 0: exact up to float rounding of ||x||^2
    assert np.max(np.abs(growth - predicted) / r2[1:]) < 1e-12
    assert np.all(growth > 0)
    # the whole run (telescoped): ||x_500||^2 - ||x_0||^2 = sum of h^2 ||v_k||^2
    assert abs((r2[-1] - r2[0]) - predicted.sum()) / r2[-1] < 1e-12
    # THEORY.md reference: radius 3.097 after 500 steps from (1, 1) with h = 0.2
    assert abs(dirac.radius(traj)[-1] - 3.097) < 1e-3
    assert dirac.radius(traj)[-1] == pytest.approx(3.0969487, abs=1e-6)


def test_continuous_flow_conserves_radius():
    traj = dirac.trajectory("standard", "continuous", 0.2, 500, START)  # 100 time units: ~8 turns
    r = dirac.radius(traj)
    assert np.max(np.abs(r - math.sqrt(2))) < 1e-7
    assert np.ptp(np.unwrap(np.arctan2(traj[:, 1], traj[:, 0]))) > 2 * math.pi * 5  # it really circles


def test_alternating_gd_oscillates_without_converging():
    """THEORY.md: alternating GD stays in [1.36, 1.45]. With the paper's reference order (G step, then D step)
    the iterates after each full iteration span [1.3435, 1.4220]; the states right after each generator
    update - which the THEORY band describes - span [1.3685, 1.4483]. D first: [1.4059, 1.4887]."""
    g_first = dirac.radius(dirac.trajectory("standard", "alternating", H, STEPS, START))
    assert g_first.min() == pytest.approx(1.34353, abs=1e-4)
    assert g_first.max() == pytest.approx(1.42204, abs=1e-4)
    sub = dirac.radius(dirac.trajectory("standard", "alternating", H, STEPS, START, substeps=True))
    assert sub.shape == (2 * STEPS + 1,)
    after_g = sub[1::2]
    assert after_g.min() >= 1.36 and after_g.max() <= 1.45
    np.testing.assert_allclose(sub[2::2], g_first[1:], rtol=1e-15)
    d_first = dirac.radius(dirac.trajectory("standard", "alternating", H, STEPS, START, order="d-first"))
    assert d_first.min() == pytest.approx(1.40594, abs=1e-4)
    assert d_first.max() == pytest.approx(1.48866, abs=1e-4)
    # neither converging nor spiralling out: the last 100 iterates still span the same band
    for r in (g_first, d_first):
        assert abs(r[-100:].min() - r.min()) < 0.01 and abs(r[-100:].max() - r.max()) < 0.01


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_regularised_methods_converge(scheme):
    assert dirac.radius(dirac.trajectory("r1", scheme, H, STEPS, START, gamma=0.3))[-1] < 1e-4  # THEORY.md
    assert dirac.radius(dirac.trajectory("r2", scheme, H, STEPS, START, gamma=0.3))[-1] < 1e-4
    assert dirac.radius(dirac.trajectory("instance-noise", scheme, H, STEPS, START, sigma=1.0))[-1] < 1e-4
    # consensus is slower (|mu| = 0.990 per simultaneous step at h = 0.2): shrinks ~100x in 500 steps
    assert dirac.radius(dirac.trajectory("consensus", scheme, H, STEPS, START, gamma=0.3))[-1] < 0.015


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_wgan_and_wgan_gp_do_not_converge(scheme):
    traj = dirac.trajectory("wgan", scheme, H, STEPS, START, clip=0.3)
    assert np.all(np.abs(traj[:, 1]) <= 0.3 + 1e-15)  # clipped after every D step (and at the start)
    assert dirac.radius(traj)[-100:].min() > 0.25
    gp = dirac.trajectory("wgan-gp", scheme, H, STEPS, START, lam=0.5)
    assert dirac.radius(gp)[-100:].min() > 1.0
    assert np.ptp(gp[-100:, 1]) > 1.0  # psi keeps swinging between the two |psi| = 1 branches
    wgan5 = dirac.trajectory("wgan", "alternating", H, STEPS, START, clip=0.3, n_critic=5)
    assert np.ptp(wgan5[-100:, 0]) > 0.2  # more critic steps do not help: theta keeps oscillating


def test_n_critic_alternating_counts_d_steps():
    one = dirac.trajectory("wgan", "alternating", 0.1, 3, (1.0, 0.5), n_critic=3, substeps=True, clip=10.0)
    assert one.shape == (3 * 4 + 1, 2)
    # g-first: row 1 moves theta only, rows 2..4 move psi only
    assert one[1, 1] == one[0, 1] and one[1, 0] != one[0, 0]
    assert np.all(one[2:5, 0] == one[1, 0]) and np.all(np.diff(one[1:5, 1]) != 0)


# ------------------------------------------------------------------------------------------ CLI

def run_main(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def test_cli_prints_reference_radius_and_writes_csv(tmp_path, capsys):
    out = tmp_path / "traj.csv"
    assert run_main(["dirac", "--method", "standard", "--scheme", "simultaneous", "--h", "0.2", "--steps", "500",
                     "--start", "1,1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "final radius = 3.09695" in text
    assert "0 +- 0.5i" in text
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert out.read_text().splitlines()[0] == "step,theta,psi,radius"
    assert rows.shape == (501, 4)
    assert rows[-1, 3] == pytest.approx(3.0969487, abs=1e-6)
    np.testing.assert_array_equal(rows[:, 1:3], dirac.trajectory("standard", "simultaneous", 0.2, 500, (1, 1)))


def test_cli_r1_eigenvalues(capsys):
    assert run_main(["dirac", "--method", "r1", "--gamma", "0.3", "--scheme", "alternating"]) == 0
    text = capsys.readouterr().out
    assert "-0.15 +- 0.477i" in text
    radius = float(text.split("final radius = ")[1].split()[0])
    assert radius < 1e-4


@pytest.mark.parametrize("argv,needle", [
    (["--method", "nope"], "invalid choice"),
    (["--start", "1"], "--start"),
    (["--start", "a,b"], "--start"),
    (["--h", "-0.1"], "--h"),
    (["--steps", "-3"], "--steps"),
    (["--method", "r1", "--sigma", "1"], "--sigma does not apply"),
    (["--n-critic", "5"], "alternating"),
    (["--method", "r1", "--gamma", "-1"], "gamma"),
    (["--method", "wgan", "--scheme", "continuous"], "continuous"),
])
def test_cli_bad_arguments_exit_2(argv, needle, capsys):
    assert run_main(["dirac", *argv]) == 2
    assert needle in capsys.readouterr().err

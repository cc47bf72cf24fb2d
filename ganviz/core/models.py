"""MLP generator and discriminator factories. Models know nothing about losses."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def mlp(in_dim: int, out_dim: int, depth: int, width: int, activation: str = "relu") -> nn.Sequential:
    """in_dim -> [Linear(width) + activation] * depth -> Linear(out_dim)."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; available: {', '.join(_ACTIVATIONS)}")
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), _ACTIVATIONS[activation]()]
        d = width
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


MBDISC_INIT_STD = 0.05  # std of the minibatch-discrimination tensor T at initialisation (Salimans et al.)
_MB_CHUNK_ELEMENTS = 1 << 24  # minibatch discrimination works on row chunks of at most this many elements


class _L1Distance(torch.autograd.Function):
    """Batched L1 distances (B, N, C) x (B, M, C) -> (B, N, M): torch.cdist forward, and a backward made of
    differentiable ops, so it can be differentiated again (R1, gradient penalty and unrolling need that;
    cdist's own backward cannot be). The sign tensor (B, N, M, C) exists only inside the backward."""

    @staticmethod
    def forward(ctx, a: Tensor, r: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(a, r)
        return torch.cdist(a, r, p=1)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        a, r = ctx.saved_tensors
        b, n, c = a.shape
        m = r.shape[1]
        # d/da_n = sum_m g_nm sign(a_n - r_m); d/dr_m = sum_n g_nm sign(r_m - a_n): batched mat-vecs
        s_a = torch.sign(a[:, :, None, :] - r[:, None, :, :]).reshape(b * n, m, c)
        grad_a = torch.bmm(g.reshape(b * n, 1, m), s_a).reshape(b, n, c)
        s_r = torch.sign(r[:, :, None, :] - a[:, None, :, :]).reshape(b * m, n, c)
        grad_r = torch.bmm(g.transpose(1, 2).reshape(b * m, 1, n), s_r).reshape(b, m, c)
        return grad_a, grad_r


def minibatch_features(h: Tensor, t: Tensor | None, kernels: int, kernel_dim: int, mbstd: bool,
                       context: Tensor | None = None) -> Tensor:
    """Minibatch features of D's last hidden layer h (N, A), to be appended to h before D's output layer.

    Minibatch discrimination (Salimans et al. 2016), T of shape (A, B*C): M_i = h_i T viewed as (B, C);
    o(x_i)_b = mean_j exp(-||M_{i,b} - M_{j,b}||_1). Salimans et al. sum over j; the mean (which includes
    j = i, so o is in (0, 1]) keeps the feature's scale independent of the batch size, so the same D can
    be evaluated on display batches of another size.
    Minibatch standard deviation (Karras et al. 2018), the whole batch as one group: the per-feature
    population std of h over the batch, averaged over features: one value, the same for every row.

    context=None: the rows of h are one batch (the training semantics: each row's features come from the
    batch it is in). context (n, A), the hidden features of a reference batch: each row gets the features
    it would have if it joined that batch (n + 1 samples): o_b = (1 + sum_j exp(-||.||_1)) / (n + 1) and the
    std of the n + 1 samples. Returns (N, B + [1 if mbstd]).
    """
    out: list[Tensor] = []
    n_rows = h.shape[0]
    if kernels > 0 and t is not None:
        # (B, N, C), made contiguous once: the chunks below read the whole reference every time
        m = (h @ t).reshape(n_rows, kernels, kernel_dim).transpose(0, 1).contiguous()
        if context is None:
            ref, extra, denom = m, 0.0, float(n_rows)
        else:
            ref = (context @ t).reshape(context.shape[0], kernels, kernel_dim).transpose(0, 1).contiguous()
            extra, denom = 1.0, float(context.shape[0] + 1)
        chunks = []
        per_row = kernels * ref.shape[1] * kernel_dim  # elements of one row's block (in the backward)
        step = max(1, min(n_rows, _MB_CHUNK_ELEMENTS // max(per_row, 1)))
        for a in range(0, max(n_rows, 1), step):
            dist = _L1Distance.apply(m[:, a:a + step].contiguous(), ref)  # (B, rows, n)
            chunks.append((torch.exp(-dist).sum(-1) + extra) / denom)
        out.append(torch.cat(chunks, dim=1).transpose(0, 1) if n_rows else h.new_zeros(0, kernels))
    if mbstd:
        if context is None:
            std = torch.sqrt(h.var(dim=0, unbiased=False) + 1e-8).mean()
            out.append(std.expand(n_rows, 1))
        else:
            n = context.shape[0]
            mu = context.mean(dim=0)
            var = context.var(dim=0, unbiased=False)
            joined = (n / (n + 1)) * (var + (h - mu) ** 2 / (n + 1))  # population variance of n + 1 samples
            out.append(torch.sqrt(joined + 1e-8).mean(dim=1, keepdim=True))
    return torch.cat(out, dim=1)


class Discriminator(nn.Module):
    """D: x (B, dim) -> raw output (B,): a logit or a critic score, depending on the objective.

    pack > 1 (PacGAN): D sees m samples concatenated, so it scores B/m packs; callers pass B divisible by m.
    mbdisc > 0 / mbstd: minibatch features of the last hidden layer are appended before the output layer
    (see `minibatch_features`), so an output depends on the other samples of its batch: `forward` treats
    its input as one batch (training semantics). Display paths (grids, per-sample histograms) use
    `per_sample`, which repeats each sample m times so a pack of identical points is scored, and, with
    minibatch features, scores each point as if it joined a reference batch (`context`).
    `self.net` is the whole MLP (hidden layers, then the output layer); without minibatch features its
    construction, initialisation and forward are exactly those of a plain MLP.
    """

    def __init__(self, dim: int, depth: int, width: int, activation: str = "relu", pack: int = 1,
                 mbdisc: int = 0, mbdisc_dim: int = 5, mbstd: int = 0) -> None:
        super().__init__()
        self.dim = dim
        self.pack = pack
        self.activation = activation
        self.mbdisc = int(mbdisc)
        self.mbdisc_dim = int(mbdisc_dim)
        self.mbstd = bool(mbstd)
        self.net = mlp(dim * pack, 1, depth, width, activation)
        self.mb_t: nn.Parameter | None = None
        if self.has_minibatch_features:
            self.net[-1] = nn.Linear(width + self.n_minibatch_features, 1)
            if self.mbdisc:
                self.mb_t = nn.Parameter(MBDISC_INIT_STD * torch.randn(width, self.mbdisc * self.mbdisc_dim))

    @property
    def has_minibatch_features(self) -> bool:
        return self.mbdisc > 0 or self.mbstd

    @property
    def n_minibatch_features(self) -> int:
        return self.mbdisc + int(self.mbstd)

    def pack_input(self, x: Tensor) -> Tensor:
        """(B, dim) samples -> (B/m, dim*m) packs (identity when pack = 1)."""
        return x.reshape(-1, self.dim * self.pack) if self.pack > 1 else x

    def hidden(self, packed: Tensor) -> Tensor:
        """The last hidden layer's features of packed inputs."""
        for layer in itertools.islice(self.net, len(self.net) - 1):  # not net[:-1]: a new Sequential per call
            packed = layer(packed)
        return packed

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        x = self.pack_input(x)
        if not self.has_minibatch_features:
            return self.net(x).squeeze(-1)
        h = self.hidden(x)
        ctx = None if context is None else self.hidden(self.pack_input(context))
        feats = minibatch_features(h, self.mb_t, self.mbdisc, self.mbdisc_dim, self.mbstd, ctx)
        return self.net[-1](torch.cat([h, feats], dim=1)).squeeze(-1)

    def per_sample(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """Raw output for each sample on its own (a pack of m copies when packing). With minibatch features
        and a context batch (samples, (n, dim); n divisible by m), each point is scored as if it joined that
        batch; without a context the points are scored as one batch."""
        if self.pack > 1:
            x = x.repeat_interleave(self.pack, dim=0)
        return self.forward(x, context)

    def frozen(self) -> FrozenMLP:
        """An immutable, picklable copy for views (see FrozenMLP)."""
        return FrozenMLP(self.net, self.activation, self.pack, self.dim, mb_t=self.mb_t, mbdisc=self.mbdisc,
                         mbdisc_dim=self.mbdisc_dim, mbstd=self.mbstd)


class Generator(nn.Module):
    """G: z (B, z_dim) -> x (B, dim)."""

    def __init__(self, z_dim: int, dim: int, depth: int, width: int, activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp(z_dim, dim, depth, width, activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def build_models(z_dim: int, dim: int, g_depth: int, g_width: int, d_depth: int, d_width: int,
                 activation: str, pack: int, seed: int, device: torch.device, mbdisc: int = 0,
                 mbdisc_dim: int = 5, mbstd: int = 0) -> tuple[Generator, Discriminator]:
    """Deterministic initialisation from seed, independent of the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = Generator(z_dim, dim, g_depth, g_width, activation)
        d = Discriminator(dim, d_depth, d_width, activation, pack, mbdisc, mbdisc_dim, mbstd)
    return g.to(device), d.to(device)


_FUNCTIONAL = {
    "relu": torch.relu,
    "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.2),
    "tanh": torch.tanh,
    "elu": torch.nn.functional.elu,
    "gelu": torch.nn.functional.gelu,
}


class FrozenMLP:
    """An immutable copy of an MLP's weights with a pure forward: safe to evaluate from another thread
    while the live network keeps training (views evaluate D on grids this way, off the training thread).

    For a discriminator (in_dim given) the call is per sample: packs of m identical copies when packing.
    With minibatch features (mb_t / mbdisc / mbstd, see `minibatch_features`) a point's output depends on
    the batch it is in, and the display semantics are explicit: `d(x)` scores the rows of x as one batch
    (what D does in training: real samples among real ones, fakes among fakes); `d(x, context=c)` scores
    each row as if it joined the reference batch c of samples (n, in_dim), e.g. the current fakes, which is
    how grids are drawn. Plain tensors and names only, so the copy pickles (it may cross a process boundary).
    """

    def __init__(self, seq: nn.Sequential, activation: str, pack: int = 1, in_dim: int | None = None, *,
                 mb_t: Tensor | None = None, mbdisc: int = 0, mbdisc_dim: int = 5, mbstd: bool = False) -> None:
        self.layers = tuple((m.weight.detach().clone(), m.bias.detach().clone())
                            for m in seq if isinstance(m, nn.Linear))
        self.activation = activation  # a name, so the copy pickles (it may cross a process boundary)
        self.pack = pack
        self.in_dim = in_dim
        self.mb_t = None if mb_t is None else mb_t.detach().clone()
        self.mbdisc = int(mbdisc)
        self.mbdisc_dim = int(mbdisc_dim)
        self.mbstd = bool(mbstd)

    def __setstate__(self, state: dict) -> None:  # copies pickled before minibatch features existed
        self.__dict__.update({"mb_t": None, "mbdisc": 0, "mbdisc_dim": 5, "mbstd": False, **state})

    @property
    def has_minibatch_features(self) -> bool:
        return self.mbdisc > 0 or self.mbstd

    def to(self, device: torch.device | str) -> FrozenMLP:
        out = object.__new__(FrozenMLP)
        out.__dict__.update(self.__dict__)
        out.layers = tuple((w.to(device), b.to(device)) for w, b in self.layers)
        if self.mb_t is not None:
            out.mb_t = self.mb_t.to(device)
        return out

    def _hidden(self, x: Tensor) -> Tensor:
        act = _FUNCTIONAL[self.activation]
        for w, b in self.layers[:-1]:
            x = act(torch.nn.functional.linear(x, w, b))
        return x

    def __call__(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """Per-sample output (B, 1) for a discriminator (packs of identical copies), or (B, out) otherwise.

        context: reference samples (n, in_dim) for minibatch features (ignored without them); with packing
        they are scored as n // m packs of distinct samples, like a training batch.
        """
        if self.pack > 1:
            x = x.repeat_interleave(self.pack, dim=0).reshape(-1, self.in_dim * self.pack)
        h = self._hidden(x)
        w, b = self.layers[-1]
        if self.has_minibatch_features:
            ctx = None
            if context is not None:
                m = self.pack
                c = context[: (context.shape[0] // m) * m].reshape(-1, self.in_dim * m) if m > 1 else context
                ctx = self._hidden(c)
            feats = minibatch_features(h, self.mb_t, self.mbdisc, self.mbdisc_dim, self.mbstd, ctx)
            h = torch.cat([h, feats], dim=1)
        return torch.nn.functional.linear(h, w, b)

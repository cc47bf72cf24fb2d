"""The model overview's graph: what one training step computes, as nodes and edges, from a config alone.

Qt-free and pure: `build_graph(config, dim)` reads the config the engine applied (core.runstate) and the
objective's row (core.objectives: its penalty, its post-step hook, its formula), so a live change (objective,
k, a penalty switched on) gives a new graph; the widget (ganviz.qt.overview_view) only draws it.

Layout on a grid of 6 columns x 4 rows (GAN Lab's reading order, left to right, backward paths returning):

    row 0:                 G update  <-------------  grad G
    row 1:   z   ->   G   ->  G(z)  ->  D  ->  D(G(z))  ->  L_G
    row 2:                    x     ->  D  ->  D(x)     ->  L_D
    row 3:                  clip  <-  D update  <-  grad D    penalties (GP, R1)

Edges are straight lines between neighbouring cells; gradients and updates return to the network they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.generators import generator_kind
from ..core.objectives import OBJECTIVES, Objective

COLUMNS, ROWS = 6, 4
NOISE_NAMES = {"gaussian": "z ∼ 𝒩(0, I)", "uniform": "z ∼ U[−1, 1]"}
OPTIMISER_NAMES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSProp"}


# The nodes each stage of a slow-motion step (ganviz.core.stages: its stage names) lights up; penalties light up
# with the D loss and clipping with the D update.
STAGE_NODES: dict[str, tuple[str, ...]] = {
    "sample z": ("z", "real"),
    "G forward": ("g", "fake"),
    "D on real and fake": ("d", "d_fake", "d_real"),
    "D loss": ("loss_d", "gp", "r1"),
    "D gradient": ("grad_d",),
    "D update": ("update_d", "clip"),
    "G loss": ("loss_g",),
    "G gradient": ("grad_g",),
    "G update": ("update_g",),
}

# The edges (src, dst) that carry each stage's data: forward edges for the forward stages (G forward: z -> G ->
# fakes; the G loss recomputes new fakes through D), the gradient's path back to the optimiser for the gradient
# stages, the update edge into the network it changes (and WGAN's clipping) for the updates. Only the edges of
# this list that the graph has (and of the kind named) light up: a fixed G has no G gradient, GP may be off.
FWD, BWD = "forward", "backward"
STAGE_EDGES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "sample z": (),
    "G forward": (("z", "g", FWD), ("g", "fake", FWD)),
    "D on real and fake": (("real", "d", FWD), ("fake", "d", FWD), ("d", "d_real", FWD), ("d", "d_fake", FWD)),
    "D loss": (("d_real", "loss_d", FWD), ("d_fake", "loss_d", FWD), ("gp", "loss_d", FWD), ("r1", "loss_d", FWD)),
    "D gradient": (("loss_d", "grad_d", BWD), ("grad_d", "update_d", BWD)),
    "D update": (("update_d", "d", BWD), ("update_d", "clip", BWD)),
    "G loss": (("z", "g", FWD), ("g", "fake", FWD), ("fake", "d", FWD), ("d", "d_fake", FWD),
               ("d_fake", "loss_g", FWD)),
    "G gradient": (("loss_g", "grad_g", BWD), ("grad_g", "update_g", BWD)),
    "G update": (("update_g", "g", BWD),),
}


@dataclass(frozen=True)
class Node:
    """One box: `kind` says what it shows (noise, net, fake, real, d_out, loss, penalty, grad, update);
    (col, row) its cell, `rows` how many rows it spans; `layers` the widths of a network's layers."""

    id: str
    label: str
    kind: str
    col: int
    row: int
    detail: str = ""
    rows: int = 1
    slot: int = 0  # several nodes sharing one cell (the penalties) split it side by side
    slots: int = 1
    layers: tuple[int, ...] = ()
    formula: tuple[str, ...] = ()  # formula markup terms (core.objectives.Formula) for loss / penalty nodes


@dataclass(frozen=True)
class Edge:
    """Data flowing from src to dst; kind: "forward" (samples, outputs, losses) or "backward" (gradients,
    updates: drawn returning to the network they change)."""

    src: str
    dst: str
    kind: str = "forward"


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    objective: str
    d_steps: int
    notes: tuple[str, ...] = field(default=())  # lines under the graph (smoothing, instance noise, ...)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r}; nodes: {', '.join(n.id for n in self.nodes)}")

    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def stage_nodes(self, stage: str) -> tuple[str, ...]:
        """The nodes of this graph that a slow-motion stage lights up (none for an unknown stage)."""
        ids = set(self.ids())
        return tuple(i for i in STAGE_NODES.get(stage, ()) if i in ids)

    def stage_edges(self, stage: str | None) -> tuple[tuple[str, str], ...]:
        """The edges (src, dst) of this graph that carry a slow-motion stage's data, in the graph's edge order
        (none for no stage or an unknown one)."""
        want = set(STAGE_EDGES.get(stage, ())) if stage else set()
        return tuple((e.src, e.dst) for e in self.edges if (e.src, e.dst, e.kind) in want)


def data_dim(config: Any) -> int:
    """The data's dimension (1, 2, or H*W for images), from the dataset registry; 2 if it cannot be told."""
    try:
        from ..core.distributions import dataset_info

        return int(dataset_info(config.data, getattr(config, "data_points", ())).dim)
    except Exception:  # an unknown or unreadable dataset: the views say why; the graph still draws
        return 2


def network_layers(in_dim: int, out_dim: int, depth: int, width: int) -> tuple[int, ...]:
    """An MLP's layer widths: input, `depth` hidden layers of `width`, output."""
    return (in_dim, *([width] * depth), out_dim)


def _optimiser(config: Any, net: str) -> str:
    name = getattr(config, f"{net}_optimizer")
    return f"{OPTIMISER_NAMES.get(name, name)}, lr {getattr(config, f'{net}_lr'):.3g}"


def _conv(config: Any, dim: int) -> bool:
    return dim > 2 and getattr(config, "arch", "mlp") != "mlp"


def build_graph(config: Any, dim: int | None = None) -> Graph:
    """The graph of one training step under `config` (dim: the data's dimension; looked up when None)."""
    dim = data_dim(config) if dim is None else dim
    obj: Objective = OBJECTIVES[config.objective]
    f = obj.formula
    d_sym = f.d_symbol if f is not None else "D"
    kind = generator_kind(config.generator)
    act = config.activation.replace("_", " ")
    conv = _conv(config, dim)
    c = getattr(config, "conv_channels", 32)
    if conv:
        g_detail = f"dense → {2 * c}×7×7 → {c}×14×14 → 28×28"
        d_detail = f"28×28 → {c}×14×14 → {2 * c}×7×7 → 1"
        g_layers: tuple[int, ...] = (config.z_dim, 2 * c * 49, c * 196, dim)
        d_layers: tuple[int, ...] = (dim, c * 196, 2 * c * 49, 1)
    else:
        g_layers = network_layers(config.z_dim, dim, config.g_depth, config.g_width)
        d_layers = network_layers(dim * max(1, config.pack), 1, config.d_depth, config.d_width)
        g_detail = f"{config.g_depth} × {config.g_width} {act}"
        d_detail = f"{config.d_depth} × {config.d_width} {act}"
    k = config.d_steps
    nodes = [
        Node("z", "noise z", "noise", 0, 1, f"{NOISE_NAMES.get(config.z_prior, config.z_prior)}, {config.z_dim}-D"),
        Node("real", "real x", "real", 2, 2, f"x ∼ p_data ({config.data})"),
        Node("d", "D" if d_sym == "D" else "critic f", "net", 3, 1, d_detail, rows=2, layers=d_layers),
        Node("d_fake", f"{d_sym}(G(z))", "d_out", 4, 1, "on the fakes"),
        Node("d_real", f"{d_sym}(x)", "d_out", 4, 2, "on the real samples"),
        Node("loss_d", "L_{D}", "loss", 5, 2, obj.label, formula=tuple(f.d_terms) if f else (obj.d_formula,)),
        Node("grad_d", "∇_{θD} L_{D}", "grad", 4, 3, "backprop through D" if d_sym == "D" else "backprop through f"),
        Node("update_d", f"D update ×{k}" if k > 1 else "D update", "update", 3, 3,
             (f"k = {k} · " if k > 1 else "") + _optimiser(config, "d")),
    ]
    edges = [Edge("real", "d"), Edge("fake", "d"), Edge("d", "d_fake"), Edge("d", "d_real"),
             Edge("d_fake", "loss_d"), Edge("d_real", "loss_d"),
             Edge("loss_d", "grad_d", "backward"), Edge("grad_d", "update_d", "backward"),
             Edge("update_d", "d", "backward")]
    if kind.learned:
        nodes += [
            Node("g", "G", "net", 1, 1, g_detail, layers=g_layers),
            Node("fake", "fake G(z)", "fake", 2, 1, "the generator's samples"),
            Node("loss_g", "L_{G}", "loss", 5, 1, "G's loss", formula=tuple(f.g_terms) if f else (obj.g_formula,)),
            Node("grad_g", "∇_{θG} L_{G}", "grad", 4, 0, "through D and G" if d_sym == "D" else "through f and G"),
            Node("update_g", "G update", "update", 2, 0,
                 _optimiser(config, "g") + (f"; {config.g_steps} G steps" if config.g_steps > 1 else "")),
        ]
        edges += [Edge("z", "g"), Edge("g", "fake"), Edge("d_fake", "loss_g"),
                  Edge("loss_g", "grad_g", "backward"), Edge("grad_g", "update_g", "backward"),
                  Edge("update_g", "g", "backward")]
    else:  # a fixed generator: no network to train (the shift / noise strategies of core.generators)
        nodes += [Node("g", f"G fixed: {kind.name}", "net", 1, 1, "not trained"),
                  Node("fake", "fake G(z)", "fake", 2, 1, "the generator's samples")]
        edges += [Edge("z", "g"), Edge("g", "fake")]
    penalties = _penalties(config, obj, d_sym)
    for i, node in enumerate(penalties):
        nodes.append(Node(node.id, node.label, node.kind, 5, 3, node.detail, slot=i, slots=len(penalties),
                          formula=node.formula))
        edges.append(Edge(node.id, "loss_d"))  # a term of L_D (D evaluated on its own points, see its label)
    if obj.post_d_step is not None:  # WGAN: clipping acts on D's weights after each update
        hook = obj.post_d_step
        c_value = getattr(config, hook.config_key)
        nodes.append(Node("clip", "clip w", "penalty", 2, 3, f"w ← clip(w, −c, c), c = {c_value:g}"))
        edges.append(Edge("update_d", "clip", "backward"))
    return Graph(tuple(nodes), tuple(edges), config.objective, k, tuple(_notes(config, obj)))


def _penalties(config: Any, obj: Objective, d_sym: str) -> list[Node]:
    """The penalties on D's loss that are on, each its own node (the objective's own first, then R1)."""
    out: list[Node] = []
    if obj.penalty is not None and getattr(config, obj.penalty.config_key) > 0:
        p = obj.penalty
        out.append(Node("gp", f"GP λ = {getattr(config, p.config_key):g}", "penalty", 0, 0, p.name,
                        formula=(p.formula,)))
    if getattr(config, "r1_gamma", 0.0) > 0:
        out.append(Node("r1", f"R1 γ = {config.r1_gamma:g}", "penalty", 0, 0, "gradient penalty on real data",
                        formula=(f"+ γ/2 E_{{x}}[‖∇_{{x}}{d_sym}(x)‖²]",)))
    return out


def _notes(config: Any, obj: Objective) -> list[str]:
    out = []
    if getattr(config, "instance_noise", 0.0) > 0:
        out.append(f"instance noise σ = {config.instance_noise:g} on D's inputs")
    if obj.label_smoothing and getattr(config, "label_smoothing", 0.0) > 0:
        out.append(f"one-sided label smoothing s = {config.label_smoothing:g}")
    if getattr(config, "unroll", 0):
        out.append(f"G against D unrolled {config.unroll} steps")
    if getattr(config, "pack", 1) > 1:
        out.append(f"PacGAN: D sees {config.pack} samples packed")
    return out

"""Time travel (issue 18.5): a bounded, decimated store of an engine's past states, and branching from them.

`TimeStore` keeps states (an engine's `state_dict()`, or any tree of tensors / arrays) finely recently and more
coarsely further back, in tiers: tier 0 keeps every `every`-th step for the last `per_tier` of them; when a tier
is full its oldest state moves up to the next tier if it falls on that tier's spacing (twice the one below),
else it is dropped (never the store's first state). So the last per_tier states are all there, the next
per_tier at twice the spacing, and so on: about per_tier states per doubling of the age. Memory is counted in
the states' tensor bytes and capped: while over the cap, the older state whose loss leaves the smallest gap
for its age is dropped, so the recent per_tier states stay, the first state stays, and the past in between
thins evenly on a log scale.

    store = TimeStore(cap_bytes=64 << 20)
    record(store, trainer)                       # after each step (only the steps the store keeps cost a copy)
    snap = snapshot_at(store, 1200)              # the run as it was at step 1200 (the nearest kept state before)
    branch(trainer, store, 1200)                 # continue from there (any command may follow)

A state is kept as given and never modified (Engine.state_dict returns fresh CPU copies), so stores may share
states: `fork(step)` starts a branch's store from the original's past without copying.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

DEFAULT_CAP = 64 << 20  # bytes: ~80 states of the default 2D MLP run with Adam (G and D 3 x 128, ~0.8 MB each)
DEFAULT_PER_TIER = 16


def state_nbytes(tree: Any) -> int:
    """The bytes of the tensors and arrays in a nested dict / list / tuple (what a store counts)."""
    if isinstance(tree, torch.Tensor):
        return tree.element_size() * tree.nelement()
    if isinstance(tree, np.ndarray):
        return int(tree.nbytes)
    if isinstance(tree, dict):
        return sum(state_nbytes(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return sum(state_nbytes(v) for v in tree)
    return 0


@dataclass
class _Tier:
    spacing: int
    entries: deque[tuple[int, Any, int]] = field(default_factory=deque)  # (step, state, nbytes), oldest first


class TimeStore:
    """Past states of one run (one branch), decimated by age and capped in bytes (see the module docstring).

    cap_bytes: the most the kept states may hold; every: the finest spacing, in steps; per_tier: states per
    tier (the last per_tier * every steps are kept at full resolution). Raises ValueError for a state that
    alone, with a full first tier, would not fit the cap."""

    def __init__(self, cap_bytes: int = DEFAULT_CAP, every: int = 1, per_tier: int = DEFAULT_PER_TIER) -> None:
        if cap_bytes <= 0 or every < 1 or per_tier < 2:
            raise ValueError(f"a time store needs cap_bytes > 0, every >= 1 and per_tier >= 2 (got {cap_bytes}, "
                             f"{every}, {per_tier})")
        self.cap_bytes = int(cap_bytes)
        self.every = int(every)
        self.per_tier = int(per_tier)
        self._tiers: list[_Tier] = [_Tier(self.every)]  # newest first: tier 0 holds the most recent states
        self._nbytes = 0
        self.newest: int | None = None

    # ------------------------------------------------------------------ adding
    def wants(self, step: int) -> bool:
        """Whether `add(step, ...)` would keep a state (call state_dict only then)."""
        return step % self.every == 0 and (self.newest is None or step > self.newest)

    def add(self, step: int, state: Any, nbytes: int | None = None) -> bool:
        """Keep `state` as the run's state at `step` (steps must increase); returns whether it was kept (False for a
        step off the finest spacing). The oldest states are thinned as needed to stay under the cap."""
        if self.newest is not None and step <= self.newest:
            raise ValueError(f"step {step} is not after the newest kept step {self.newest} (after a reset, use a "
                             "new store; to branch from the past, store.fork(step); core.branches does both)")
        if step % self.every:
            return False
        size = state_nbytes(state) if nbytes is None else int(nbytes)
        if size * (self.per_tier + 1) > self.cap_bytes:
            raise ValueError(f"a state of {_human(size)} does not fit {self.per_tier + 1} times in the cap of "
                             f"{_human(self.cap_bytes)}: raise the cap or lower per_tier")
        self.newest = step
        self._tiers[0].entries.append((step, state, size))
        self._nbytes += size
        self._settle()
        while self._nbytes > self.cap_bytes:
            self._drop_least_needed()
        return True

    def _settle(self) -> None:
        """Pass each full tier's oldest states up, oldest first (a new, twice as coarse tier when needed); a
        state off the next tier's spacing is dropped, except the store's first state (where the scrubber starts)."""
        i = 0
        while i < len(self._tiers):
            tier = self._tiers[i]
            while len(tier.entries) > self.per_tier:
                old = tier.entries.popleft()
                if i == len(self._tiers) - 1:
                    self._tiers.append(_Tier(tier.spacing * 2))
                up = self._tiers[i + 1]
                first = not any(t.entries for t in self._tiers[i + 1:])  # the store's first state: always kept
                if old[0] % up.spacing and not first:
                    self._nbytes -= old[2]
                else:
                    up.entries.append(old)  # newer than every state of the coarser tier
            i += 1

    def _drop_least_needed(self) -> None:
        """Over the cap: drop the kept state whose loss hurts least, i.e. leaves the smallest gap relative to its
        age ((next - previous) / (newest - next)); never the oldest state nor tier 0's recent ones."""
        older = [(i, j) for i in range(len(self._tiers) - 1, 0, -1) for j in range(len(self._tiers[i].entries))]
        if len(older) < 2:  # nothing between the oldest state and the recent ones: the oldest goes
            tier = self._tiers[older[0][0] if older else 0]
            self._nbytes -= tier.entries.popleft()[2]
            return
        steps = np.array([s for s, _, _ in self._all()], dtype=np.float64)
        i = np.arange(1, len(older))  # candidates: every older state but the oldest (its next may be in tier 0)
        cost = (steps[i + 1] - steps[i - 1]) / (steps[-1] - steps[i + 1] + self.every)
        tier_i, j = older[int(i[np.argmin(cost)])]
        tier = self._tiers[tier_i]
        self._nbytes -= tier.entries[j][2]
        del tier.entries[j]

    def set_cap(self, cap_bytes: int) -> None:
        """A new cap: the older states are thinned (as in `add`) until the kept ones fit it."""
        if cap_bytes <= 0:
            raise ValueError(f"a time store needs cap_bytes > 0 (got {cap_bytes})")
        self.cap_bytes = int(cap_bytes)
        while self._nbytes > self.cap_bytes and len(self) > 1:
            self._drop_least_needed()

    # ------------------------------------------------------------------ reading
    def _all(self) -> list[tuple[int, Any, int]]:
        return [e for tier in reversed(self._tiers) for e in tier.entries]  # oldest first

    def steps(self) -> list[int]:
        """The kept steps, oldest first."""
        return [s for s, _, _ in self._all()]

    def __len__(self) -> int:
        return sum(len(t.entries) for t in self._tiers)

    @property
    def nbytes(self) -> int:
        """The bytes the kept states hold (their tensors and arrays)."""
        return self._nbytes

    def state_at(self, step: int) -> tuple[int, Any] | None:
        """(kept step, state) of the newest kept state at or before step; None when none is that old."""
        entries = self._all()
        i = bisect.bisect_right([s for s, _, _ in entries], step)
        return None if i == 0 else entries[i - 1][:2]

    def resolution(self) -> list[tuple[int, int, int]]:
        """(spacing, oldest step, newest step) of each tier that holds states, newest first (under the cap an older
        tier may have wider gaps than its spacing)."""
        return [(t.spacing, t.entries[0][0], t.entries[-1][0]) for t in self._tiers if t.entries]

    def describe(self) -> str:
        """One line for the timeline: how many states, their memory against the cap, and how far back they go."""
        head = f"{len(self)} states, {_human(self._nbytes)} of {_human(self.cap_bytes)}"
        recent = self._tiers[0].entries
        if not recent:
            return head
        unit = "every step" if self.every == 1 else f"every {self.every} steps"
        line = f"{head}: {unit} from step {recent[0][0]}"
        older = len(self) - len(recent)
        if older:
            line += f", {older} older back to step {self.steps()[0]}"
        return line

    def fork(self, step: int) -> TimeStore:
        """A store for a branch from `step`: the same settings and the kept states at or before it (shared, not
        copied; each store counts them against its own cap)."""
        out = TimeStore(self.cap_bytes, self.every, self.per_tier)
        out._tiers = []
        for tier in self._tiers:
            entries = deque(e for e in tier.entries if e[0] <= step)
            out._tiers.append(_Tier(tier.spacing, entries))
            out._nbytes += sum(e[2] for e in entries)
        kept = out.steps()
        out.newest = kept[-1] if kept else None
        return out


# ---------------------------------------------------------------------- engines
def record(store: TimeStore, engine: Any) -> bool:
    """Keep the engine's state at its current step if the store wants it (the copy is made only then)."""
    if not store.wants(engine.step):
        return False
    return store.add(engine.step, engine.state_dict())


def branch(engine: Any, store: TimeStore, step: int) -> int:
    """Load the newest kept state at or before step into engine (Engine.load_state_dict) so that it continues
    from there, as the run did; returns the step it continues from. ValueError when no state is that old."""
    found = store.state_at(step)
    if found is None:
        raise ValueError(f"no state kept at or before step {step}")
    kept, state = found
    engine.load_state_dict(state)
    return kept


def scratch_trainer(state: dict[str, Any]) -> Any:
    """A CPU Trainer built from a Trainer state's config (the state is not loaded yet)."""
    from .config import TrainConfig
    from .trainer import Trainer

    config = state["config"]
    config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
    return Trainer(config.replace(device="cpu"))


def snapshot_at(store: TimeStore, step: int, engine: Any = None,
                make_engine: Callable[[dict[str, Any]], Any] = scratch_trainer, with_metrics: bool = True) -> Any:
    """The run as it was at the newest kept step at or before step: a snapshot of a scratch engine (given, or
    made by make_engine from the state) loaded with that state. The live run is not touched; its step is the
    snapshot's `step`. ValueError when no state is that old."""
    found = store.state_at(step)
    if found is None:
        raise ValueError(f"no state kept at or before step {step}")
    engine = make_engine(found[1]) if engine is None else engine
    engine.load_state_dict(found[1])
    return engine.snapshot(with_metrics=with_metrics)


class Scrubber:
    """Snapshots of past steps for a timeline slider: one scratch engine, made on first use (and again only when a
    state's config differs from the one it was made with), and the last `cache` snapshots kept by kept step, so
    dragging across steps that map to the same kept state costs nothing."""

    def __init__(self, store: TimeStore, make_engine: Callable[[dict[str, Any]], Any] = scratch_trainer,
                 cache: int = 8) -> None:
        self.store = store
        self.make_engine = make_engine
        self.cache = max(1, int(cache))
        self._engine: Any = None
        self._engine_config: Any = None
        self._snaps: dict[tuple[int, bool], Any] = {}
        self.engines_made = 0

    def at(self, step: int, with_metrics: bool = True) -> Any:
        """The snapshot of the newest kept state at or before step (see snapshot_at); ValueError when none."""
        found = self.store.state_at(step)
        if found is None:
            raise ValueError(f"no state kept at or before step {step}")
        key = (found[0], with_metrics)
        if key in self._snaps:
            self._snaps[key] = self._snaps.pop(key)  # most recently used last
            return self._snaps[key]
        state = found[1]
        if self._engine is None or state.get("config") != self._engine_config:
            self._engine, self._engine_config = self.make_engine(state), state.get("config")
            self.engines_made += 1
        self._engine.load_state_dict(state)
        snap = self._engine.snapshot(with_metrics=with_metrics)
        self._snaps[key] = snap
        while len(self._snaps) > self.cache:
            self._snaps.pop(next(iter(self._snaps)))
        return snap


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"

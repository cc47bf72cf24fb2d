"""The run as the engine reports it: the config applied at step N, the events, the speed, the scene.

A `RunState` is fed the engine's snapshots (`update`) and nothing else, so a scripted switch, a replayed
session, a loaded checkpoint or a scene change shows in every view that renders from it; no control keeps
its own copy of what trains. Qt-free: the window asks `update` what changed and redraws only that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import TrainConfig
from .snapshot import Event

SPEED_UNKNOWN = -1.0  # Snapshot.speed_limit of an engine that does not report it


@dataclass
class RunState:
    """What trains now. `config` is the config the engine applied at `step` (not what a control asked for)."""

    config: TrainConfig
    step: int = 0
    running: bool = True
    speed: float | None = None  # steps/s cap; None = full speed
    scene: str | None = None  # the scene's title while a scene runs
    events: list[Event] = field(default_factory=list)
    max_events: int = 2000

    def update(self, snap: Any) -> set[str]:
        """Take one snapshot; the names of what changed ("config", "running", "speed", "events", "step")."""
        changed: set[str] = set()
        if snap.step != self.step:
            self.step = int(snap.step)
            changed.add("step")
        config = getattr(snap, "config", None)
        if config is not None and config != self.config:
            self.config = config
            changed.add("config")
        if bool(snap.running) != self.running:
            self.running = bool(snap.running)
            changed.add("running")
        limit = getattr(snap, "speed_limit", SPEED_UNKNOWN)
        if limit is not None and limit != SPEED_UNKNOWN:
            speed = float(limit) if limit > 0 else None
            if speed != self.speed:
                self.speed = speed
                changed.add("speed")
        if snap.events:
            self.events.extend(snap.events)
            del self.events[: max(0, len(self.events) - self.max_events)]
            changed.add("events")
        return changed

    def restart(self, config: TrainConfig, scene: str | None = None) -> None:
        """A new run (a scene, a replay, user data): its start config, no events yet; the speed carries on."""
        self.config = config
        self.step = 0
        self.running = True
        self.scene = scene
        self.events.clear()

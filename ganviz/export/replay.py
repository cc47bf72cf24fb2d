"""Deterministic replay of a session: the same config, seed and live changes give the same run on the CPU.

    trainer = replay(load_session("run.toml"))            # at the session's final step
    r = Replayer(session)                                 # or step by step (recording, tests)
    while not r.finished():
        r.tick()

Why not `Trainer.schedule` every entry and train: the step count restarts at 0 after a reset, so entries
after a reset would be due before it; and one drain collapses equal-key settings at one step (two
objective switches while paused keep only the last). The replayer walks the entries in order instead:
before each timeline step it applies every entry due at the current step (settings via
`Trainer.apply`), then takes that step: the logged manual step if one is due, else a plain iteration.
Applied entries are appended to the trainer's `command_log` as the engine would log them, so a replayed
run can be saved again as the same session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.commands import MANUAL, Command
from ..core.config import ConfigError
from ..core.trainer import Trainer
from .session import LoggedCommand, Session, SessionError, segments


class Replayer:
    """Drives a Trainer through a session's entries; one `tick()` = one timeline step."""

    def __init__(self, session: Session, trainer: Trainer | None = None, base_dir: str | Path | None = None) -> None:
        self.session = session
        self.trainer = trainer if trainer is not None else Trainer(session.config)
        if session.checkpoint:
            from ..core.checkpoint import load_checkpoint

            path = Path(session.checkpoint)
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            load_checkpoint(self.trainer, path)
        self.entries: tuple[LoggedCommand, ...] = session.commands
        self.index = 0  # next entry to apply
        self.ticks = 0  # timeline steps taken by this replayer
        self._reset_ids = {id(seg[-1]) for seg in segments(session)[:-1] if seg}  # entries that restart at 0

    @property
    def final_step(self) -> int:
        if self.session.final_step is not None:
            return self.session.final_step
        return self.entries[-1].step if self.entries else 0

    def log_done(self) -> bool:
        return self.index >= len(self.entries)

    def finished(self, final_step: int | None = None) -> bool:
        """All entries applied and the run is at final_step (default: the session's)."""
        target = self.final_step if final_step is None else final_step
        return self.log_done() and self.trainer.step >= target

    def _apply_due(self) -> Command | None:
        """Apply the settings due now; return the manual step due now, if any (not yet run)."""
        t = self.trainer
        while self.index < len(self.entries):
            entry = self.entries[self.index]
            if entry.step > t.step:
                return None
            if entry.step < t.step:
                raise SessionError(f"commands[{self.index}] ({type(entry.command).__name__}) is at step "
                                   f"{entry.step}, but the replay is already at step {t.step}: the commands "
                                   "are out of order")
            cmd = entry.command
            self.index += 1
            if isinstance(cmd, MANUAL):
                return cmd
            try:
                t.apply(cmd)
            except (ConfigError, ValueError, KeyError) as e:
                raise SessionError(f"commands[{self.index - 1}] ({type(cmd).__name__}) at step {entry.step} "
                                   f"cannot be applied: {e}") from None
            t.command_log.append((t.step, cmd))
        return None

    def _step(self, manual: Command | None) -> None:
        t = self.trainer
        if manual is not None:
            t.command_log.append((t.step, manual))  # the engine logs a manual step when it runs
            t.run_manual(manual)
        else:
            t.iteration()
        self.ticks += 1

    def tick(self) -> None:
        """Apply what is due, then one timeline step (the logged manual step, or a plain iteration)."""
        self._step(self._apply_due())

    def advance(self, n: int) -> None:
        for _ in range(n):
            self.tick()

    def finish(self, final_step: int | None = None) -> Trainer:
        """Replay every entry, then train until final_step (default: the session's final step). Entries
        logged at the final step itself (a change made just before saving) are applied too."""
        target = self.final_step if final_step is None else final_step
        while True:
            manual = self._apply_due()
            if manual is None and self.log_done() and self.trainer.step >= target:
                return self.trainer
            self._step(manual)

    def steps_left(self, final_step: int | None = None) -> int:
        """Timeline steps `finish()` will still take (for progress bars), counted from the entries."""
        target = self.final_step if final_step is None else final_step
        step, n = self.trainer.step, 0
        for entry in self.entries[self.index:]:
            if entry.step > step:
                n += entry.step - step
                step = entry.step
            if isinstance(entry.command, MANUAL):
                n += 1
                step += 1
            elif id(entry) in self._reset_ids:
                step = 0
        return n + max(0, target - step)


def replay(session: Session, final_step: int | None = None, base_dir: str | Path | None = None) -> Trainer:
    """Rebuild the session's run: Trainer(config), every entry at its step, trained to final_step."""
    return Replayer(session, base_dir=base_dir).finish(final_step)


def replay_file(path: str | Path, final_step: int | None = None) -> Any:
    from .session import load_session

    path = Path(path)
    return replay(load_session(path), final_step, base_dir=path.parent)

"""Sessions and checkpoints in the window: File → Save / Open session..., Save / Load checkpoint....

A session file (ganviz.export.session) is the config a run started from and every live change since; opening
one replays it exactly (`WindowReplay`) and pauses at the step where it was saved. The run's log and its
checkpoints come from the window's TrainingSession (one API over both backends). Reading and writing big
session files happens off the GUI thread (issue 19.8); errors are shown in words and the running session is
not touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from ...core.commands import Command, SetRunning
from ...core.config import TrainConfig
from ...core.snapshot import EventKind
from ...export.errors import ExportError
from ...export.session import Session, SessionError, load_session, save_session, segments
from ...export.session_branches import LinePhase, phase_segments, tree_plan
from .. import text_bounds
from ..background import BackgroundJob, run_in_background
from ..timeline_ghosts import BRANCH_EVENT


# ================================================================================== opening a session
class WindowReplay:
    """Replays a session in the window, exactly: the commands of one reset-segment are scheduled at a
    time (the step count restarts after a reset, so later ones cannot be scheduled up front); the run
    pauses right after each reset until the next segment is scheduled, and pauses at the session's final
    step. (Pausing does not change the run: pauses only stop iterations between logged steps.)

    A session with a branch tree (issue 18.5) replays every line in one run, as it was made: the original to its
    tip, then a branch from the saved step (the training process pins the branch points' states first, so its
    decimated store cannot drop them) and that line's own changes, and so on, ending on the session's own line;
    the time plots draw each older line after its branch point dimmed, and the timeline marks the branches. A
    table that does not describe such a tree is said in words; the session's own line still replays."""

    def __init__(self, host: Any, session: Session, base_dir: Path | None = None, title: str | None = None) -> None:
        self.window = host
        self.session = session
        self.title = title  # the window title while it plays ("session name.toml")
        self.segments = segments(session)
        self.final_step = session.final_step if session.final_step is not None else (
            session.commands[-1].step if session.commands else 0)
        self.armed = 0  # segments scheduled so far
        self.resets_seen = 0
        self.finished = False
        self.base_dir = base_dir
        self.awaiting_checkpoint = bool(session.checkpoint)
        self.plan: list[LinePhase] = []  # the lines of the branch tree, in the order they replay
        self.phase = 0
        self.tree_note = ""  # why the tree is not redrawn (said in the status bar)
        self.awaiting_pins = False
        self.awaiting_branch: int | None = None  # the tip of the line just left, until the branch shows
        if len(session.branches) > 1:
            try:
                self.plan = tree_plan(session)
            except (ValueError, SessionError) as e:
                self.tree_note = f"the branch tree is not redrawn ({e}); its current line replays"
        if self.plan:
            self.segments = phase_segments(self.plan[0])
            self.final_step = self.plan[0].line.tip

    def _drop_tree(self, why: str) -> None:
        """Replay the session's own line only (from the start: called before anything was armed)."""
        self.plan, self.tree_note = [], f"the branch tree is not redrawn ({why}); its current line replays"
        self.segments = segments(self.session)
        self.final_step = self.session.final_step if self.session.final_step is not None else (
            self.session.commands[-1].step if self.session.commands else 0)
        self.window.statusBar().showMessage(self.tree_note[0].upper() + self.tree_note[1:], 20000)

    def start(self) -> None:
        w = self.window
        w.restart(self.session.config, autostart=False, title=self.title)
        if self.awaiting_checkpoint:
            path = self._checkpoint_path()
            if w.session.trainer is not None:  # the thread backend's trainer exists already: load it now (its
                w.session.load_checkpoint(path)  # thread cannot be stopped from a snapshot's slot, see on_snapshot)
                self.awaiting_checkpoint = False
                self._arm(resume_at=None)
            else:  # the child does not exist yet: start paused, load, then schedule (on_snapshot)
                w.session.schedule(0, SetRunning(False))
        elif self.plan and w.session.backend != "process":
            self._drop_tree("branches replay with the training process, the default backend")
            self._arm(resume_at=None)
        elif self.plan:  # start paused: the branch points are pinned before the first step (on_snapshot)
            self.awaiting_pins = True
            w.session.schedule(0, SetRunning(False))
        else:
            self._arm(resume_at=None)
        w.session.start()

    def _checkpoint_path(self) -> Path:
        return self.checkpoint_path_of(self.session, self.base_dir)

    @staticmethod
    def checkpoint_path_of(session: Session, base_dir: Path | None) -> Path:
        p = Path(session.checkpoint or "")
        return p if p.is_absolute() or base_dir is None else base_dir / p

    def _arm(self, resume_at: int | None) -> None:
        seg = self.segments[self.armed]
        items: list[tuple[int, Command]] = []
        if resume_at is not None:
            items.append((resume_at, SetRunning(True)))
        items += [(e.step, e.command) for e in seg]
        last = self.armed == len(self.segments) - 1
        if last:
            items.append((self.final_step, SetRunning(False)))
        else:
            items.append((seg[-1].step, SetRunning(False)))  # right after the reset that ends the segment
        self.armed += 1
        self.window.session.schedule_all(items)

    def on_snapshot(self, snap: Any) -> None:
        if self.finished:
            return
        if self.awaiting_checkpoint:
            if not snap.running:
                self.awaiting_checkpoint = False
                result = self.window.session.load_checkpoint(self._checkpoint_path())
                self._arm(resume_at=int(result["step"]))
            return
        if self.awaiting_pins:
            if not snap.running:
                self.awaiting_pins = False
                try:
                    self.window.session.request("pin", sorted({p.line.from_step for p in self.plan[1:]}))
                except ExportError as e:
                    self._drop_tree(str(e))
                self._arm(resume_at=0)
            return
        if self.awaiting_branch is not None:  # a paused frame of the line just left is not this line's end
            if not any(str(e.kind) == BRANCH_EVENT for e in snap.events) and snap.step == self.awaiting_branch:
                return
            self.awaiting_branch = None
        self.resets_seen += sum(1 for e in snap.events if e.kind == EventKind.RESET and "checkpoint" not in e.detail)
        if self.armed < len(self.segments):
            if self.resets_seen >= self.armed and not snap.running and snap.step == 0:
                self._arm(resume_at=0)
            return
        if not snap.running and snap.step >= self.final_step and self.phase + 1 < len(self.plan):
            self._next_line()
            return
        if not snap.running and snap.step >= self.final_step:
            self.finished = True
            self.window.statusBar().showMessage(
                f"Session replayed to step {snap.step} and paused. Press Play (Space) to continue training.",
                20000)


    def _next_line(self) -> None:
        """The line replayed so far reached its tip: branch where the next line did and replay its changes."""
        self.phase += 1
        phase = self.plan[self.phase]
        left = self.final_step
        try:
            answer = self.window.session.request("branch", [phase.line.from_step, phase.line.parent])
        except ExportError as e:
            self.finished = True
            self.plan = self.plan[:self.phase]
            raise SessionError(f"the branch tree stopped at line {phase.line.parent} (step {left}): line "
                               f"{phase.line.id} could not branch at step {phase.line.from_step}: {e}") from None
        if int(answer["step"]) != phase.line.from_step:
            raise SessionError(f"line {phase.line.id} branched at step {answer['step']}, not at the saved "
                               f"{phase.line.from_step}; the replay stopped there")
        self.segments, self.armed, self.resets_seen = phase_segments(phase), 0, 0
        self.final_step = phase.line.tip
        self.awaiting_branch = left
        self._arm(resume_at=phase.line.from_step)
        if self.phase + 1 == len(self.plan):
            self.window.session.request("pin", [])  # the last line: the pinned states go


def _check_data_file(config: TrainConfig) -> None:
    """Data that lives in a file (image-file) must load before the current run is replaced by a session's."""
    if config.data != "image-file":
        return  # built-in data always builds; user points were checked with the session
    from ...core.distributions import make_distribution

    try:
        make_distribution(config.data, config.ring_radius, config.ring_std, config.image_path, config.image_range)
    except ValueError as e:  # ImageDataError names the file and the problem
        raise SessionError(f"the session's image data cannot be loaded: {e}") from None


def _message_of(exc: BaseException) -> str:
    """An error from background work in words: ganviz's own errors as they are, others with their type."""
    if isinstance(exc, (ExportError, SessionError)):
        return str(exc)
    return f"{exc} ({type(exc).__name__})"


# ================================================================================== the File-menu part
class SessionFiles:
    """Save / open sessions and checkpoints: the part of the recording feature (ganviz.qt.extensions.recording)
    that works on the run's record. Needs `self.host` (the window), `self.replay` and `self.last_error`."""

    host: Any
    replay: WindowReplay | None
    last_error: str | None
    _info: Callable[[str], None]  # a message in the status bar (and the feature's dock)
    _error: Callable[[str, str], None]  # title, text: said in words, nothing else touched

    def _build_session_menu(self) -> None:
        host = self.host
        menu = host.menu("File")
        menu.addSeparator()
        host.add_action("save_session", "Save session...", self._ask_save_session, menu="File")
        host.add_action("open_session", "Open session...", self._ask_open_session, menu="File")
        menu.addSeparator()
        host.add_action("save_checkpoint", "Save checkpoint...", self._ask_save_checkpoint, menu="File")
        host.add_action("load_checkpoint", "Load checkpoint...", self._ask_load_checkpoint, menu="File")

    def _scene_name(self, config: TrainConfig) -> str | None:
        scene = self.host.current_scene
        if scene is not None and getattr(scene, "config", None) == config:
            return getattr(scene, "name", None)
        return None

    def save_session(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            run = self.host.session
            session = run.session_record(scene=self._scene_name(run.start_config))
            out = save_session(session, path)
        except (ExportError, SessionError) as e:
            self._error("Session not saved", str(e))
            return None
        self._info(f"Session saved: {out} ({len(session.commands)} changes, step {session.final_step})")
        return out

    def open_session(self, path: str | os.PathLike[str]) -> WindowReplay | None:
        try:
            session = self._read_session(path)
        except (ExportError, SessionError) as e:
            self._error("Session not opened", str(e))
            return None
        return self._start_session(session, path)

    def _read_session(self, path: str | os.PathLike[str]) -> Session:
        """Read and check a session file and what it names (no Qt: runs in a background thread too)."""
        session = load_session(path)
        if session.checkpoint:
            from ...core.checkpoint import read_checkpoint

            read_checkpoint(WindowReplay.checkpoint_path_of(session, Path(path).parent))
        _check_data_file(session.config)
        return session

    def _start_session(self, session: Session, path: str | os.PathLike[str]) -> WindowReplay | None:
        self.replay = WindowReplay(self.host, session, Path(path).parent, title=f"session {Path(path).name}")
        try:
            self.replay.start()
        except (ExportError, SessionError) as e:
            self.replay = None
            self._error("Session not opened", str(e))
            return None
        replay = self.replay
        if replay.plan:
            self._info(f"Replaying {Path(path).name}: its {len(replay.plan)} lines (the original and its "
                       f"branches) up to step {session.final_step} of line {replay.plan[-1].line.id}; it pauses there")
        else:
            self._info(f"Replaying {Path(path).name}: {len(session.commands)} changes up to step "
                       f"{replay.final_step}; it pauses there" + (f". Note: {replay.tree_note}" if replay.tree_note
                                                                   else ""))
        return self.replay

    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            result = self.host.session.save_checkpoint(path)
        except ExportError as e:
            self._error("Checkpoint not saved", str(e))
            return None
        self._info(f"Checkpoint saved: {path} (step {result['step']})")
        return Path(path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> bool:
        try:
            result = self.host.session.load_checkpoint(path)
        except ExportError as e:
            self._error("Checkpoint not loaded", str(e))
            return False
        self.replay = None
        self._info(f"Checkpoint loaded: {Path(path).name}, continuing from step {result['step']}")
        return True


    def _save_name(self, title: str, filters: str, suggested: str) -> str | None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self.host, title, suggested, filters)
        return name or None

    def _open_name(self, title: str, filters: str) -> str | None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self.host, title, "", filters)
        return name or None

    def _ask_save_session(self) -> None:
        name = self._save_name("Save session", "ganviz session (*.toml);;JSON (*.json)", "session.toml")
        if name:
            self.save_session_in_background(name)

    def _ask_open_session(self) -> None:
        name = self._open_name("Open session", "ganviz session (*.toml *.json)")
        if name:
            self.open_session_in_background(name)

    def save_session_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Ask the training process for its log (it answers at its next step boundary: seconds with a big network)
        and write the file in a thread; the window keeps drawing. The thread backend's trainer is stopped and
        started in the GUI thread, so only the file is written in the thread there."""
        run = self.host.session
        scene = self._scene_name(run.start_config)
        session = run.session_record(scene=scene) if run.trainer is not None else None

        def work(progress: Any, cancelled: Any) -> tuple[Path, Session]:
            s = session if session is not None else run.session_record(scene=scene)
            if cancelled():
                raise ExportError(f"cancelled: {path} was not written")
            return save_session(s, path), s

        def done(result: tuple[Path, Session]) -> None:
            out, s = result
            self._info(f"Session saved: {out} ({len(s.commands)} changes, step {s.final_step})")

        return run_in_background(self.host, f"Saving the session to {text_bounds.path_text(path, 80)}…", work,
                                 done, lambda e: self._error("Session not saved", _message_of(e)),
                                 lambda: self._info("Saving the session was cancelled; nothing was written"))

    def open_session_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Read a session file in a thread (a session of 100k changes took minutes in the GUI thread); Cancel
        discards it. The replay then starts in the GUI thread."""
        return run_in_background(
            self.host, f"Reading the session {text_bounds.path_text(path, 80)}…",
            lambda progress, cancelled: self._read_session(path), lambda s: self._start_session(s, path),
            lambda e: self._error("Session not opened", _message_of(e)),
            lambda: self._info("Opening the session was cancelled; the run is unchanged"))

    def _ask_save_checkpoint(self) -> None:
        name = self._save_name("Save checkpoint", "ganviz checkpoint (*.pt)", "checkpoint.pt")
        if name:
            self.save_checkpoint(name)

    def _ask_load_checkpoint(self) -> None:
        name = self._open_name("Load checkpoint", "ganviz checkpoint (*.pt)")
        if name:
            self.load_checkpoint(name)

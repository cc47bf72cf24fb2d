"""Slow motion in the window (issue 18.2): each training step played as its stages, one at a time.

View → Slow motion (Ctrl+Shift+M, also on the run toolbar) pauses training and asks the engine to play the next
step as its stages (`TrainingSession.play_stages`: the training process runs core.stages.slow_step at its next step
boundary and sends each stage back as a core.messages.StagePlayed). The engine plays the whole step at once, by
the same functions as a normal step, so the run is exactly where a normal step leaves it; the window then shows
the stages one at a time: Next / Back, or Auto at a chosen number of seconds per stage; after a step's last stage
Next (or Auto) asks for the next step. Each stage lights its nodes in the Model dock, reads its narration (the
step's real numbers) in a large bar over the data view, and draws its state in the data view (slowmo_view).
Leaving puts the lab's data view back and training plays again if it played before.

Only a single run on 1D / 2D data can be played so (not image data, a comparison or an ensemble): the action is
then disabled and its tooltip says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from PySide6 import QtCore
from superqt.utils import signals_blocked

from ..core.commands import SetRunning
from ..core.generators import generator_kind
from ..core.snapshot import EventKind
from .slowmo_view import D_UPDATE, G_UPDATE, SlowMotionView

TIP = "Play each training step as its stages (sample z … G update), one at a time, with the step's real numbers"
KEEP_STEPS = 3  # steps whose stages Back can return to
ANIMATION_SHARE = 0.7  # a D update's field change / a G update's move takes this share of the stage's time
MAX_ANIMATION_MS = 1200
FILLED = ("real", "fake", "d_real", "d_fake")  # arrays a stage takes over from the earlier stages of its update


def unavailable(host: Any) -> str:
    """Why slow motion cannot play this window's run ("" when it can)."""
    session = host.session
    if getattr(session, "compare", None) or getattr(session, "engine", None) is not None:
        return "Slow motion plays a single run; a comparison or an ensemble trains several at once."
    snap = getattr(host, "last_snapshot", None)
    dim = int(snap.dim) if snap is not None else int(session.dim)
    if dim > 2 or (snap is not None and snap.images is not None):
        return "Slow motion shows 1D and 2D data: image data has no data view to play the stages in."
    return ""


class SlowMotion(QtCore.QObject):
    """The slow-motion mode of a window (see the module docstring). `played`: the stages received (the last
    KEEP_STEPS steps), `index`: the one shown; `active`: whether the mode is on."""

    stage_shown = QtCore.Signal(object)  # the StagePlayed now shown

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        self.active = False
        self.played: list[Any] = []
        self.index = -1
        self.waiting = False  # a step was asked for and its last stage has not arrived
        self.view: SlowMotionView | None = None
        self._resume = False  # training played before slow motion began
        self._previous: Any = None  # the data view shown before
        self._session: Any = None
        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._auto_next)
        self.action = host.add_action("slowmo", "Slow motion", self.set_active, menu="View", checkable=True,
                                      shortcut="Ctrl+Shift+M", tip=f"{TIP} (Ctrl+Shift+M)", toolbar=True)
        self.next_action = host.add_action("slowmo.next", "Slow motion: next stage", self.next, shortcut="N")
        self.back_action = host.add_action("slowmo.back", "Slow motion: previous stage", self.back, shortcut="B")
        for a in (self.next_action, self.back_action):
            a.setEnabled(False)
        self._connect(host.session)
        host.run_started.connect(self._on_run_started)
        host.run_state_changed.connect(self._on_run_state)
        host.snapshot_drawn.connect(self._on_snapshot)
        host.closing.connect(lambda: self.set_active(False))
        self.update_available()

    # ------------------------------------------------------------ availability
    def update_available(self) -> str:
        """Enable the action for a run it can play; else disable it and say why in its tooltip."""
        why = unavailable(self.host)
        self.action.setEnabled(not why or self.active)
        self.action.setToolTip(why or f"{TIP} (Ctrl+Shift+M)")
        return why

    def _connect(self, session: Any) -> None:
        if self._session is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self._session.stage_played.disconnect(self.on_stage)
        self._session = session
        session.stage_played.connect(self.on_stage)

    def _on_run_started(self, session: Any) -> None:
        self.set_active(False)  # the stages belonged to the old run
        self._connect(session)
        self.update_available()

    def _on_run_state(self, names: Any) -> None:
        if "config" in names:
            self.update_available()
        if self.active and "running" in names and self.host.run_state.running:
            self._resume = False  # the user pressed Play: training goes on, slow motion ends
            self.set_active(False)

    def _on_snapshot(self, snap: Any) -> None:
        if not self.active:
            self.update_available()
            return
        if any(e.kind == EventKind.RESET for e in snap.events) or unavailable(self.host):
            self._resume = False
            self.set_active(False)
            return
        stack = self.host.data_stack
        if stack.currentWidget() is not self.view:  # the window picked its data view for new data
            self._previous = stack.currentWidget()
            stack.setCurrentWidget(self.view)
            self.show(self.index)

    # ------------------------------------------------------------ on / off
    def set_active(self, on: bool) -> None:
        on = bool(on)
        if on == self.active:
            self._show_checked(on)
            return
        if on:
            why = unavailable(self.host)
            if why:
                self._show_checked(False)
                self.host.show_message(why, 10000)
                return
            self._enter()
        else:
            self._leave()
        self._show_checked(on)

    def _show_checked(self, on: bool) -> None:
        blocked = self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.blockSignals(blocked)

    def _enter(self) -> None:
        host = self.host
        self.active = True
        self._resume = bool(host.run_state.running)
        host.send(SetRunning(False))
        if self.view is None:
            self.view = SlowMotionView()
            bar = self.view.bar
            bar.next_button.clicked.connect(self.next)
            bar.back_button.clicked.connect(self.back)
            bar.auto_button.toggled.connect(self.set_auto)
            bar.speed.valueChanged.connect(lambda _v: self.set_auto(bar.auto_button.isChecked()))
            bar.leave_button.clicked.connect(lambda: self.set_active(False))
            host.data_stack.addWidget(self.view)
        self._previous = host.data_stack.currentWidget()
        host.data_stack.setCurrentWidget(self.view)
        dock = host.docks.get("overview")
        if dock is not None and dock.toggleViewAction().isChecked():
            dock.raise_()  # the Model dock lights each stage's nodes
        self.played, self.index = [], -1
        for a in (self.next_action, self.back_action):
            a.setEnabled(True)
        self.view.bar.set_text("Slow motion", "Pausing, then the engine plays the next step as its stages…")
        with signals_blocked(self.view.bar.auto_button):
            self.view.bar.auto_button.setChecked(True)
        self.request_step()
        host.show_message("Slow motion: Next (N) / Back (B), or Auto; Ctrl+Shift+M leaves.", 10000)

    def _leave(self) -> None:
        host = self.host
        self.active = False
        self.waiting = False
        self.timer.stop()
        for a in (self.next_action, self.back_action):
            a.setEnabled(False)
        overview = host.features.get("overview")
        if overview is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                overview.show_stage(None)
        stack = host.data_stack
        if self.view is not None and stack.currentWidget() is self.view:
            stack.setCurrentWidget(self._previous if self._previous is not None else stack.widget(0))
        if self._resume:
            host.send(SetRunning(True))
        self._resume = False
        self.update_available()

    # ------------------------------------------------------------ the stages
    def request_step(self) -> None:
        """Ask the engine to play the next step as its stages (they arrive through on_stage)."""
        if self.waiting:
            return
        self.waiting = True
        self.host.session.play_stages()

    def on_stage(self, message: Any) -> None:
        """A stage from the engine: kept, and shown if it is the first of the step asked for."""
        if not self.active:
            return
        if message.refused:
            self.host.show_message(f"Slow motion: {message.refused}.", 10000)
            self.set_active(False)
            return
        self.played.append(message)
        first = len(self.played) == 1 or self.played[-2].stage.last
        if message.stage.last:
            self.waiting = False
        if first:
            self._trim()
            self.show(len(self.played) - 1)
        else:
            self._sync_buttons()
            if self.played[self.index].stage.step == message.stage.step:
                self._show_position()

    def _trim(self) -> None:
        starts = [i for i, m in enumerate(self.played) if i == 0 or self.played[i - 1].stage.last]
        if len(starts) > KEEP_STEPS:
            cut = starts[len(starts) - KEEP_STEPS]
            self.played = self.played[cut:]
            self.index -= cut

    def next(self) -> None:
        """The next stage; after the last stage received, the next step (asked of the engine)."""
        if not self.active:
            return
        if self.index < len(self.played) - 1:
            self.show(self.index + 1)
        elif not self.waiting:
            self.request_step()

    def back(self) -> None:
        if self.active and self.index > 0:
            self.show(self.index - 1)

    def set_auto(self, on: bool) -> None:
        if self.view is not None:
            with signals_blocked(self.view.bar.auto_button):
                self.view.bar.auto_button.setChecked(on)
        self.timer.stop()
        if on and self.active:
            self.timer.start(int(self.seconds() * 1000))

    def seconds(self) -> float:
        return self.view.bar.seconds() if self.view is not None else 0.8

    def _auto_next(self) -> None:
        if not self.active or self.view is None or not self.view.bar.auto_button.isChecked():
            return
        self.next()
        if self.index == len(self.played) - 1 and self.waiting:
            return  # the next step's first stage restarts the timer when it is shown
        self.timer.start(int(self.seconds() * 1000))

    def filled(self, i: int) -> Any:
        """Stage i with the arrays it lacks taken from the earlier stages of its update (the batches, D's outputs;
        a G update also its G gradient's arrows), so each stage draws the whole state of its update."""
        stage = self.played[i].stage
        keys = FILLED + (("fake_grad",) if stage.name == G_UPDATE else ())
        take: dict[str, Any] = {}
        for j in range(i - 1, -1, -1):
            prev = self.played[j].stage
            if (prev.network, prev.index, prev.step) != (stage.network, stage.index, stage.step):
                break
            for key in keys:
                if key not in take and getattr(stage, key) is None and getattr(prev, key) is not None:
                    take[key] = getattr(prev, key)
        return dataclasses.replace(stage, **take) if take else stage

    def fields(self, i: int) -> tuple[Any, Any]:
        """(the D field stage i leaves, the field before it): the latest field a stage up to i carried."""
        now = before = None
        for j in range(i, -1, -1):
            f = self.played[j].field
            if f is None:
                continue
            if now is None:
                now = f
                if j < i:  # no field of its own: nothing changes on this stage
                    before = f
                    break
            else:
                before = f
                break
        return now, before

    def show(self, i: int) -> None:
        """Show stage i: the Model dock's nodes, the narration, the data view."""
        if not (0 <= i < len(self.played)) or self.view is None:
            return
        self.index = i
        message = self.played[i]
        stage = self.filled(i)
        field, before = self.fields(i)
        overview = self.host.features.get("overview")
        if overview is not None:
            overview.show_stage(stage.name)
        bar = self.view.bar
        self._show_position()
        bar.set_text(bar.title.text(), stage.narration)
        animate = stage.name in (D_UPDATE, G_UPDATE)
        ms = int(min(MAX_ANIMATION_MS, ANIMATION_SHARE * self.seconds() * 1000)) if animate else 0
        self.view.show_stage(stage, field, before, self.host.last_snapshot, ms)
        caption = self.view.caption(stage)
        if caption:
            bar.set_text(bar.title.text(), f"{stage.narration}. {caption}")
        self._sync_buttons()
        if self.view.bar.auto_button.isChecked():
            self.timer.start(int(self.seconds() * 1000))
        self.stage_shown.emit(message)

    def _show_position(self) -> None:
        """The title (step, update, stage i of n) and the strip of the step's stages."""
        message = self.played[self.index]
        stage, step = message.stage, self._step_of(self.index)
        total = stage_count(step, self.host.run_state.config)
        plan = [(m.stage.name, m.stage.network, m.stage.index) for m in step]
        position = next(k for k, m in enumerate(step) if m is message)
        bar = self.view.bar
        bar.strip.set_plan(plan + [("", "G", 0)] * (total - len(plan)), position)
        update = f" · {stage.network} update {stage.index + 1} of {stage.of}" if stage.of > 1 else ""
        bar.set_text(f"Step {stage.step}{update} · stage {position + 1} of {total}: {stage.name}",
                     bar.narration.text())

    def _step_of(self, i: int) -> list[Any]:
        """The stages received of the step stage i belongs to."""
        step = self.played[i].stage.step
        return [m for m in self.played if m.stage.step == step]

    def _sync_buttons(self) -> None:
        if self.view is None:
            return
        bar = self.view.bar
        bar.back_button.setEnabled(self.index > 0)
        bar.next_button.setEnabled(self.index < len(self.played) - 1 or not self.waiting)
        last = self.index == len(self.played) - 1 and not self.waiting
        bar.next_button.setText("Next step ▶" if last else "Next ▶")


def stage_count(step: list[Any], config: Any) -> int:
    """How many stages the step has: all received once its last one is in, else what its config makes."""
    if step and step[-1].stage.last:
        return len(step)
    first = step[0].stage
    g = config.g_steps * 3 if generator_kind(config.generator).learned else 0
    return max(len(step), first.of * 6 + g)

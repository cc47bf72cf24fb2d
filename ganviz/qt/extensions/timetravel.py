"""Time travel (issue 18.5): the timeline under the charts, viewing the past, and branching from it.

The training process keeps the states (core.branches.LiveTimeline: a bounded, decimated TimeStore recorded after
every step) and answers three requests: "timeline" (kept steps, memory, the branch tree), "past" (a snapshot of the
run as it was at a step, made from a scratch engine: the live run is not touched) and "branch". Requests go from a
helper thread, one of each kind at a time: while the strip is dragged only the newest step is asked for next
(coalesced), so a drag never queues up work. A past snapshot is materialised in that thread (D field, samples,
metrics, as the window does for live ones) and drawn by the same views: the data view and the D(x) histograms
show it, the loss and metric plots get a cursor at that step, and a banner says that the past is shown. Training
pauses while the past is shown; Back to live resumes it if it was running.

Branch from here continues the run from the shown state (the child loads it and logs a "branch" event): the
time-axis plots keep the original's curves after that step, dimmed and dashed (ganviz.qt.timeline_ghosts), and
draw the branch in full colour. The run stays paused at the branch point, so the next change (say, the loss)
applies to the branch from its first step; Play continues it. A saved session carries the branch tree
(ganviz.export.session_branches).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ...core.commands import SetRunning
from ..timeline import PAST_COLOUR, TimelineBar

POLL_MS = 1000  # the memory line and the kept ticks refresh this often (one small request)
TIME_PLOTS = ("losses", "metrics")


def metrics_readout(metrics: dict[str, float]) -> str:
    """A short line of the past step's metrics: "W1 0.412 · modes 6/8 · JSD 0.120"."""
    parts = []
    if "w1" in metrics and metrics["w1"] == metrics["w1"]:
        parts.append(f"W1 {metrics['w1']:.3f}")
    if "modes_covered" in metrics and metrics.get("n_modes"):
        parts.append(f"modes {metrics['modes_covered']:.0f}/{metrics['n_modes']:.0f}")
    if "jsd_true" in metrics and metrics["jsd_true"] == metrics["jsd_true"]:
        parts.append(f"JSD {metrics['jsd_true']:.3f}")
    return " · ".join(parts)


class _Asker(QtCore.QObject):
    """Requests to the training process from a helper thread; `answered(kind, token, ok, result)` in the GUI
    thread. `post` runs in the helper thread on a good result (materialising a snapshot there)."""

    answered = QtCore.Signal(str, object, bool, object)

    def ask(self, session: Any, kind: str, arg: Any, token: Any, post: Callable[[Any], Any] | None = None) -> None:
        def work() -> None:
            try:
                result = session.request(kind, arg, timeout=10.0)
                if post is not None:
                    result = post(result)
                ok = True
            except Exception as exc:  # said in words in the window; the run goes on
                ok, result = False, str(exc) or type(exc).__name__
            self.answered.emit(kind, token, ok, result)

        threading.Thread(target=work, name=f"ganviz-timeline-{kind}", daemon=True).start()


def _materialise(answer: dict[str, Any]) -> dict[str, Any]:
    answer["snapshot"] = answer["snapshot"].materialized()
    return answer


class TimeTravel(QtCore.QObject):
    """The timeline feature: `bar` (ganviz.qt.timeline.TimelineBar) in a bottom toolbar; `viewing` is the step
    asked for (None: live); `past` the last past answer drawn ({"snapshot", "step", "asked"})."""

    past_drawn = QtCore.Signal(object)  # the past answer, after the views drew it
    branched = QtCore.Signal(object)  # the branch answer ({"step", "line", "tree"})
    info_changed = QtCore.Signal(object)  # the timeline answer

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        self.bar = TimelineBar()
        self.toolbar = QtWidgets.QToolBar("Timeline")
        self.toolbar.setObjectName("timeline_bar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.bar)
        host.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.toolbar)
        host.menu("View").addAction(self.toolbar.toggleViewAction())
        host.add_action("timeline.live", "Back to live", self.back_to_live, menu="View",
                        tip="Leave the past shown on the timeline")
        host.add_action("timeline.branch", "Branch from here", self.branch_here, menu="View",
                        tip="Continue training from the past state shown on the timeline")
        self.asker = _Asker(self)
        self.asker.answered.connect(self._on_answer)
        self.viewing: int | None = None
        self.past: dict[str, Any] | None = None
        self.info: dict[str, Any] | None = None
        self.tip = 0
        self.was_running = False
        self._busy: set[str] = set()
        self.sent: dict[str, int] = {}  # requests sent, by kind (a drag sends far fewer than it moves)
        self._cursors: list[tuple[Any, pg.InfiniteLine]] = []
        self.bar.strip.scrubbed.connect(self.scrub)
        self.bar.strip.released.connect(self.scrub)
        self.bar.live_requested.connect(self.back_to_live)
        self.bar.branch_requested.connect(self.branch_here)
        host.snapshot_drawn.connect(self.on_snapshot)
        host.run_started.connect(self.on_run_started)
        host.closing.connect(self.close)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # -------------------------------------------------------------- requests
    def _ask(self, kind: str, arg: Any, post: Callable[[Any], Any] | None = None) -> bool:
        if kind in self._busy:
            return False
        self._busy.add(kind)
        self.sent[kind] = self.sent.get(kind, 0) + 1
        self.asker.ask(self.host.session, kind, arg, self.host.session, post)
        return True

    def poll(self) -> None:
        """Ask for the kept steps and the memory (skipped while hidden or while one is on its way)."""
        if self.toolbar.isVisible() and self.host.session.process is not None:
            self._ask("timeline", None)

    def _on_answer(self, kind: str, token: Any, ok: bool, result: Any) -> None:
        self._busy.discard(kind)
        if token is not self.host.session or self.host.is_closing:
            return  # an answer about a run that was replaced meanwhile
        if not ok:
            if kind != "timeline" or self.viewing is not None:
                self.host.show_message(f"Timeline: {result}", 10000)
            if kind == "past" and self.viewing is not None:
                self.bar.set_banner_text(f"No past state to show: {result}")
            return
        if kind == "timeline":
            self._show_info(result)
        elif kind == "past":
            self._show_past(result)
        elif kind == "branch":
            self._on_branched(result)

    def _show_info(self, info: dict[str, Any]) -> None:
        self.info = info
        branch_points = [b["from_step"] for b in info["tree"] if b["parent"] is not None]
        self.tip = max(self.tip, int(info["step"])) if self.viewing is not None else int(info["step"])
        span = max([int(b["tip"]) for b in info["tree"]] + [self.tip])  # the time axes run this far
        self.bar.strip.set_state(self.tip, info["steps"], branch_points, self.viewing, span)
        note = "no past kept: " + info["disabled"] if info.get("disabled") else ""
        self.bar.show_memory(len(info["steps"]), info["nbytes"], info["cap_bytes"], note,
                             info.get("pinned", 0), info.get("pinned_bytes", 0))
        self.info_changed.emit(info)

    # -------------------------------------------------------------- the past
    def scrub(self, step: int) -> None:
        """Show the run as it was at step (the newest kept state at or before it); training pauses."""
        if self.host.session.process is None:
            self.host.show_message("Time travel needs the training process (the default backend).", 10000)
            return
        if self.viewing is None:
            self.was_running = bool(self.host.run_state.running)
            if self.was_running:
                self.host.send(SetRunning(False))
        self.viewing = max(0, int(step))
        self.bar.strip.set_state(self.tip, viewing=self.viewing)
        self._request_past()

    def _request_past(self) -> None:
        if self.viewing is not None:
            self._ask("past", self.viewing, post=_materialise)

    def _show_past(self, answer: dict[str, Any]) -> None:
        if self.viewing is None:
            return  # back to live meanwhile
        self.past = answer
        self._draw_past()
        self.bar.show_past(answer["asked"], answer["step"], metrics_readout(answer["snapshot"].metrics))
        self.past_drawn.emit(answer)
        if answer["asked"] != self.viewing:  # the strip moved on while this one was made: the newest next
            self._request_past()

    def _draw_past(self) -> None:
        snap = self.past["snapshot"] if self.past is not None else None
        if snap is None:
            return
        live = getattr(self.host, "last_snapshot", None)
        if live is None or (live.dim, live.images is None) == (snap.dim, snap.images is None):
            self.host.data_stack.currentWidget().update_snapshot(snap)  # (other data then: the live view stays)
        dock = self.host.docks.get("histograms")
        if dock is not None and dock.is_built():
            self.host.panel("histograms").update_snapshot(snap)
        self._place_cursors(self.past["step"])

    def _place_cursors(self, step: int) -> None:
        if not self._cursors:
            for name in TIME_PLOTS:
                dock = self.host.docks.get(name)
                if dock is None or not dock.is_built():
                    continue
                panel = self.host.panel(name)
                plots = panel.plots.values() if isinstance(getattr(panel, "plots", None), dict) else [panel.plot]
                for plot in plots:
                    line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PAST_COLOUR, width=2))
                    plot.addItem(line, ignoreBounds=True)
                    self._cursors.append((plot, line))
        for _plot, line in self._cursors:
            line.setPos(float(step))

    def _remove_cursors(self) -> None:
        for plot, line in self._cursors:
            plot.removeItem(line)
        self._cursors.clear()

    def on_snapshot(self, snap: Any) -> None:
        """A live frame was drawn: the strip's tip follows it; while the past is shown, the past is drawn again
        over it (training is paused then, so this is rare)."""
        self.tip = int(snap.step) if self.viewing is None else max(self.tip, int(snap.step))
        if self.viewing is None:
            self.bar.strip.set_state(self.tip)
        else:
            self._draw_past()

    def back_to_live(self) -> None:
        """Every view shows the live run again; training resumes if it ran before the past was shown."""
        if self.viewing is None:
            return
        self._leave_past()
        last = getattr(self.host, "last_snapshot", None)
        if last is not None:
            self.host.data_stack.currentWidget().update_snapshot(last)
            dock = self.host.docks.get("histograms")
            if dock is not None and dock.is_built():
                self.host.panel("histograms").update_snapshot(last)
        if self.was_running:
            self.host.send(SetRunning(True))

    def _leave_past(self) -> None:
        self.viewing = None
        self.past = None
        self._remove_cursors()
        self.bar.show_past(None)
        self.bar.strip.set_state(self.tip, viewing=None)

    # -------------------------------------------------------------- branching
    def branch_here(self) -> None:
        """Continue training from the past state shown (paused there: make a change, then Play)."""
        if self.viewing is None or self.past is None:
            self.host.show_message("Drag the timeline back to a past step first, then Branch from here.", 8000)
            return
        self._ask("branch", self.past["step"])

    def _on_branched(self, answer: dict[str, Any]) -> None:
        self._leave_past()
        self.tip = int(answer["step"])
        self.bar.strip.set_state(self.tip)
        self.host.show_message(f"Branch {answer['line']} from step {answer['step']:,} (paused): your next change "
                               "applies to the branch; Play continues it.", 20000)
        self.branched.emit(answer)
        self.poll()

    # -------------------------------------------------------------- run lifecycle
    def on_run_started(self, _session: Any) -> None:
        self._leave_past()
        self._busy.clear()
        self.tip, self.info = 0, None
        self.bar.strip.set_state(0, [], [], None, span=0)
        self.bar.show_memory(0, 0, 0, "starting…")

    def close(self) -> None:
        self.timer.stop()


def install(host: Any) -> TimeTravel:
    return TimeTravel(host)

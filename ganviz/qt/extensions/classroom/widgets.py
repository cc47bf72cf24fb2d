"""The classroom's own widgets: the Scene dock's text, the keyboard-shortcut sheet, and two small dialogs."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from ....core.scenes import Scene
from ... import text_bounds as tb


class SceneInfo(QtWidgets.QWidget):
    """The active scene: title, explanation, and the scripted timeline with actions ticked once passed."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.body = QtWidgets.QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.body.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.body.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        lay.addWidget(self.title)
        lay.addWidget(scroll, 1)
        self.scale = 1.0
        self.scene: Scene | None = None
        self.note = ""
        self.empty_title = "No scene"
        self.step = -1
        self._html = ""
        self.show_scene(None)

    def show_scene(self, scene: Scene | None, note: str = "", title: str = "No scene") -> None:
        self.scene = scene
        self.note = note
        self.empty_title = title
        self.step = -1
        self._render()

    def set_step(self, step: int) -> None:
        if self.scene is None or not self.scene.actions:
            return
        passed_before = sum(a.step <= self.step for a in self.scene.actions)
        passed_now = sum(a.step <= step for a in self.scene.actions)
        self.step = step
        if passed_before != passed_now:
            self._render()

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self._render()

    def _render(self) -> None:
        pt = 11 * self.scale
        if self.scene is None:
            self.title.setText(f"<span style='font-size:{pt * 1.25:.1f}pt'><b>"
                               f"{tb.label_html(self.empty_title, tb.TITLE_CHARS)}</b></span>")
            text = self.note or ("Pick a lecture scene from the Scenes menu (PageDown: next scene), or open "
                                 "a scene file. Every scene says here what to watch.")
            body = f"<p>{tb.label_html(text, tb.TEXT_CHARS)}</p>"
        else:  # a scene file's text is bounded and made wrappable: a long word widened the whole window
            self.title.setText(f"<span style='font-size:{pt * 1.25:.1f}pt'><b>"
                               f"{tb.label_html(self.scene.title, tb.TITLE_CHARS)}</b></span>")
            description = tb.clean(self.scene.description, tb.TEXT_CHARS, keep_newlines=True)
            paras = [p.replace("\n", " ").strip() for p in description.split("\n\n")]
            body = "".join(f"<p>{tb.label_html(p, tb.TEXT_CHARS)}</p>" for p in paras if p)
            if self.scene.actions:
                items = []
                for a in sorted(self.scene.actions, key=lambda a: a.step):
                    done = self.step >= a.step
                    mark = "✓" if done else "○"
                    colour = "gray" if done else "inherit"
                    items.append(f"<li style='color:{colour}'>{mark} step {a.step}: {tb.label_html(a.label)}</li>")
                body += "<p><b>Script</b></p><ul style='-qt-list-indent:0'>" + "".join(items) + "</ul>"
            if self.scene.path is not None:
                name = tb.label_html(self.scene.path.name, tb.PATH_CHARS)
                body += f"<p style='color:gray; font-size:{0.8 * pt:.1f}pt'>{name}</p>"
        body = f"<div style='font-size:{pt:.1f}pt'>{body}</div>"
        if body != self._html:
            self._html = body
            self.body.setText(body)

    def text(self) -> str:
        doc = QtGui.QTextDocument()
        doc.setHtml(self.title.text() + self._html)
        return doc.toPlainText()


class HelpOverlay(QtWidgets.QWidget):
    """A dark sheet over the whole window listing every keyboard shortcut (read from the QActions)."""

    COLUMNS = 3

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(30, 20, 30, 20)
        self.title = QtWidgets.QLabel()
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.footer = QtWidgets.QLabel()
        self.footer.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.row = QtWidgets.QHBoxLayout()
        self.row.setSpacing(48)
        self.columns: list[QtWidgets.QLabel] = []
        for _ in range(self.COLUMNS):
            label = QtWidgets.QLabel()
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
            self.columns.append(label)
        self.row.addStretch(1)
        for label in self.columns:
            self.row.addWidget(label, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.row.addStretch(1)
        outer.addStretch(1)
        outer.addWidget(self.title)
        outer.addSpacing(12)
        outer.addLayout(self.row)
        outer.addSpacing(12)
        outer.addWidget(self.footer)
        outer.addStretch(1)
        for w in (self.title, self.footer, *self.columns):
            w.setStyleSheet("color: white; background: transparent;")
        self.entries: list[tuple[str, str, str]] = []
        self.conflicts: list[str] = []
        self.scale = 1.0
        self.hide()
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self.window_ and ev.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.window_.rect())
        return False

    def open(self, entries: list[tuple[str, str, str]]) -> None:
        self.entries = entries
        pt = 12 * self.scale
        groups: dict[str, list[tuple[str, str]]] = {}
        uses: dict[str, int] = {}
        for group, text, keys in entries:
            groups.setdefault(group, []).append((keys, text))
            for k in keys.split(" or "):
                uses[k] = uses.get(k, 0) + 1
        self.conflicts = sorted(k for k, n in uses.items() if n > 1)

        def key_cell(keys: str) -> str:
            parts = [f"<span style='color:#ff7070'>{html.escape(k)} ⚠</span>" if k in self.conflicts
                     else html.escape(k) for k in keys.split(" or ")]
            return " or ".join(parts)

        blocks = []
        for group, rows in groups.items():
            cells = "".join(f"<tr><td align='right' style='white-space:nowrap; padding-right:12px'>"
                            f"<b>{key_cell(k)}</b></td><td style='white-space:nowrap'>{html.escape(t)}</td></tr>"
                            for k, t in rows)
            blocks.append((len(rows) + 2, f"<p style='font-size:{pt * 1.05:.1f}pt; color:#ffd27f'>"
                                          f"<b>{html.escape(group)}</b></p><table cellspacing='3' "
                                          f"style='font-size:{pt:.1f}pt'>{cells}</table>"))
        total = sum(n for n, _ in blocks)
        per_column = total / self.COLUMNS
        cols: list[list[str]] = [[] for _ in range(self.COLUMNS)]
        filled, c = 0.0, 0
        for n, block in blocks:  # groups stay in order, a new column once this one holds its share
            if c < self.COLUMNS - 1 and filled > 0 and filled + n / 2 > per_column * (c + 1):
                c += 1
            cols[c].append(block)
            filled += n
        for label, col in zip(self.columns, cols, strict=True):
            label.setText("".join(col))
            label.setVisible(bool(col))
        self.title.setText(f"<span style='font-size:{pt * 1.6:.1f}pt'><b>Keyboard shortcuts</b></span>")
        clash = (f"<br><span style='color:#ff7070'>⚠ bound to more than one action (Qt runs neither): "
                 f"{html.escape(', '.join(self.conflicts))}</span>") if self.conflicts else ""
        self.footer.setText(f"<span style='font-size:{pt * 0.95:.1f}pt; color:#c8c8c8'>Esc, F1 or a click "
                            f"closes this sheet{clash}</span>")
        self.setGeometry(self.window_.rect())
        self.show()
        self.raise_()
        self.setFocus()

    def text(self) -> str:
        doc = QtGui.QTextDocument()
        doc.setHtml("".join(label.text() for label in self.columns))
        return doc.toPlainText()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(12, 14, 22, 242))
        p.end()

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self.hide()

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if ev.key() in (QtCore.Qt.Key.Key_Escape, QtCore.Qt.Key.Key_F1, QtCore.Qt.Key.Key_Question):
            self.hide()
            ev.accept()
            return
        super().keyPressEvent(ev)


class PresentationDialog(QtWidgets.QDialog):
    """Which docks and bars presentation mode hides, and how much larger it draws."""

    def __init__(self, parent: QtWidgets.QWidget, names: list[tuple[str, str]], hidden: set[str],
                 scale: float) -> None:
        super().__init__(parent)
        self.setWindowTitle("Presentation settings")
        lay = QtWidgets.QVBoxLayout(self)
        box = QtWidgets.QGroupBox("Hide in presentation mode")
        blay = QtWidgets.QVBoxLayout(box)
        self.boxes: dict[str, QtWidgets.QCheckBox] = {}
        for key, title in names:
            cb = QtWidgets.QCheckBox(title)
            cb.setChecked(key in hidden)
            blay.addWidget(cb)
            self.boxes[key] = cb
        lay.addWidget(box)
        form = QtWidgets.QFormLayout()
        self.scale = QtWidgets.QDoubleSpinBox()
        self.scale.setRange(1.0, 3.0)
        self.scale.setSingleStep(0.1)
        self.scale.setDecimals(1)
        self.scale.setValue(scale)
        self.scale.setToolTip("Fonts and line widths are multiplied by this in presentation mode")
        form.addRow("Size factor", self.scale)
        lay.addLayout(form)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def hidden(self) -> set[str]:
        return {k for k, cb in self.boxes.items() if cb.isChecked()}


class SaveSceneDialog(QtWidgets.QDialog):
    """Title and explanation for a saved scene."""

    def __init__(self, parent: QtWidgets.QWidget, title: str, description: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save current setup as scene")
        form = QtWidgets.QFormLayout(self)
        self.title = QtWidgets.QLineEdit(title)
        self.description = QtWidgets.QPlainTextEdit(description)
        self.description.setMinimumSize(420, 120)
        form.addRow("Title", self.title)
        form.addRow("Explanation", self.description)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

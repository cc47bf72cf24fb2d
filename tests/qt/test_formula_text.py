"""Formula text from the objective rows: the panel follows the row (not the objective's name or label), and the
controls' one-line formulas wrap only between terms at any width (issue 15: "log(1 -" / "D(G(z)))")."""

from __future__ import annotations

import pytest
from PySide6 import QtGui

from ganviz.core.config import TrainConfig
from ganviz.core.objectives import OBJECTIVES
from ganviz.qt.formula import BASE_PT, break_between_terms, formula_html, regularisers, render


def _plain(html: str) -> str:
    doc = QtGui.QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def _line_starts(text: str, width: int) -> list[int]:
    layout = QtGui.QTextLayout(text, QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
    option = QtGui.QTextOption()
    option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    starts = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    return starts


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_formulas_wrap_only_between_terms(qapp, name):
    for source in (OBJECTIVES[name].d_formula, OBJECTIVES[name].g_formula):
        text = break_between_terms(source)
        assert text.replace("\u00a0", " ").replace("\u2060", "").replace("\u2212", "-") == source.replace(",  ", ", ")
        for width in range(30, 520, 5):
            for start in _line_starts(text, width)[1:]:
                assert text[start - 1] == " ", (width, text[:start])
    narrow = _line_starts(break_between_terms(OBJECTIVES["ns"].d_formula), 200)
    assert len(narrow) == 2  # "L_D = -E log D(x)" / "- E log(1 - D(G(z)))"


def test_markup_renders_expectations_subscripts_and_variables():
    assert render("− E_{x}[log D(x)]") == "− 𝔼<sub><i>x</i></sub>[log <i>D</i>(<i>x</i>)]"
    assert render("E_{x̂}[‖∇_{x̂}f(x̂)‖_{2}]") == (
        "𝔼<sub><i>x̂</i></sub>[‖∇<sub><i>x̂</i></sub><i>f</i>(<i>x̂</i>)‖<sub>2</sub>]")
    assert render("max(0, 1 − D(x))") == "max(0, 1 − <i>D</i>(<i>x</i>))"  # the x of max stays upright


@pytest.mark.parametrize("name, smoothed", [("ns", True), ("minimax", True), ("lsgan", True), ("hinge", False),
                                            ("wgan", False), ("wgan-gp", False)])
def test_the_panel_takes_label_smoothing_from_the_row(qapp, name, smoothed):
    text = _plain(formula_html(TrainConfig(objective=name, label_smoothing=0.1)))
    assert ("(1 − s)" in text) == smoothed
    assert ("one-sided label smoothing" in " ".join(regularisers(TrainConfig(objective=name, label_smoothing=0.1)))
            ) == smoothed
    assert "(1 − s)" not in _plain(formula_html(TrainConfig(objective=name)))


def test_the_rows_hooks_are_listed_with_their_values(qapp):
    gp = " ".join(regularisers(TrainConfig(objective="wgan-gp", gp_lambda=3.0)))
    clip = " ".join(regularisers(TrainConfig(objective="wgan", clip=0.02)))
    assert "gradient penalty λ = 3" in _plain(gp) and "clip" not in gp
    assert "c</i> = 0.02" in clip and "gradient penalty" not in clip
    text = _plain(formula_html(TrainConfig(objective="wgan", r1_gamma=1.0)))
    assert "‖∇xf(x)‖²" in text and "f(x) is a critic" in text  # the critic's symbol in R1


@pytest.mark.parametrize("objective", ["wgan-gp", "minimax", "lsgan"])
def test_the_formulas_panel_fits_a_narrow_dock_in_presentation_mode(qtbot, objective):
    """In presentation mode (scale 1.6) the Formulas dock (320 px) cut its equations off behind a horizontal
    scrollbar: the equations now shrink to the panel's width, the prose keeps the presentation size and wraps."""
    from ganviz.qt.formula import FormulaPanel

    panel = FormulaPanel(TrainConfig(objective=objective, r1_gamma=1.0))
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    panel.set_scale(1.6)
    qtbot.waitUntil(lambda: panel.viewport().width() > 200)
    panel.set_scale(1.6)
    need = panel.widget().minimumSizeHint().width()
    assert need <= panel.viewport().width(), (need, panel.viewport().width())
    assert not panel.horizontalScrollBar().isVisible()
    assert panel.fitted_scale < 1.6  # the equations were shrunk ...
    assert f"font-size:{BASE_PT * 1.6:.1f}pt" in panel.html()  # ... not the prose (the schedule's list)
    panel.resize(1400, 700)  # a wide panel draws the equations at the chosen scale
    qtbot.waitUntil(lambda: panel.fitted_scale == 1.6)

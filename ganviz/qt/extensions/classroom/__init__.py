"""Classroom: lecture scenes, presentation mode, formulas on screen, themes, and your own data.

`install(host)` adds (the feature object is `host.features["classroom"]`, also `window.classroom`):

- **Scenes** menu (scenes.py): every shipped scene (assets/scenes/*.toml) by title; Next / Previous scene
  (PageDown / PageUp), Restart scene (Home), Open scene file... (Ctrl+O), Save current setup as scene... (Ctrl+S),
  and whether the last scene is resumed on launch. A "Scene" dock shows the title, the explanation and the
  scripted timeline (each action ticked once the run has passed its step).
- **View** (stage.py): Theme → Light / Dark (pyqtgraph plots and the Qt palette, themes.py), Presentation mode
  (F5: full screen, larger fonts, thicker lines, a high-contrast theme, chosen docks / bars hidden; Esc leaves),
  Full screen (F11), Presentation settings..., and lecture keys: faster / slower ( ] / [ ), gradient arrows (A),
  z-grid (Z). **Help** → Keyboard shortcuts (F1 or ?): an overlay listing every shortcut, read from the window's
  QActions when it opens, so the list is always the true one.
- **Data** (user_data.py): Import points (CSV / .npy)..., Draw points, Edit Gaussian mixture (ganviz.qt.draw).
  Applying restarts the run on a user dataset carried in the config (ganviz.core.userdata).
- A "Formulas" dock (ganviz.qt.formula): the active losses and regularisers, following the controls.

It talks to the window through the host API only (ganviz.qt.host: add_panel, add_action, run_started, closing,
snapshot_drawn) and the window's public attributes; feature.py ties the parts together, widgets.py holds its
own widgets. Remembered in the window's settings: classroom/theme, classroom/last_scene,
classroom/resume_last_scene, classroom/presentation_hide, classroom/presentation_scale.
"""

from .feature import Classroom, install
from .scenes import CLEAN_FRAMES, LECTURE_ORDER, SceneMenu
from .stage import DEFAULT_HIDE, Stage
from .themes import HIGH_CONTRAST, PALETTES, PlotStyler, map_colour, qt_palette
from .user_data import UserData
from .widgets import HelpOverlay, PresentationDialog, SaveSceneDialog, SceneInfo

__all__ = ["CLEAN_FRAMES", "DEFAULT_HIDE", "HIGH_CONTRAST", "LECTURE_ORDER", "PALETTES", "Classroom", "HelpOverlay",
           "PlotStyler", "PresentationDialog", "SaveSceneDialog", "SceneInfo", "SceneMenu", "Stage", "UserData",
           "install", "map_colour", "qt_palette"]

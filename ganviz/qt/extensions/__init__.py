"""The main window's features (recording, sessions, scenes, comparisons, theory views, ...), installed in the
order of ganviz.qt.main_window.FEATURES. Every module defines

    def install(host: WindowHost) -> object

and adds its panels (host.add_panel(PanelSpec(...))), actions (host.add_action(...)) and run hooks
(host.run_started, host.closing, host.snapshot_drawn, host.run_state_changed) through the host API of
ganviz.qt.host only. What install returns is kept as host.features[name]. A feature that fails to install is
reported in the status bar (host.feature_errors); the window still opens.
"""

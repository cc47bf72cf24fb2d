"""Window extensions, discovered automatically: every module here defines

    def install(window: MainWindow) -> None

and adds its menus (window.menu("Scenes")), docks (window.add_dock(...)), actions and shortcuts. An
extension that fails to install is reported in the status bar; the window still opens.
"""

"""Qt client of the engine: main window, controls, panels, worker bridge."""

"""Qt tests: the application is made by ganviz's own make_app (as the app does), so garbage collection runs in
the GUI thread from the first test on, whatever fixture creates windows."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _ganviz_app():
    from ganviz.qt.app import make_app

    make_app()

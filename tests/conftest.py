"""Test configuration: headless Qt before anything imports it, and a guard against leaked threads."""

import os

# Must happen before any Qt import, or a machine with no display aborts the whole run.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

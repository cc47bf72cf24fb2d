"""ganviz: a desktop lab for watching GANs train."""

import os

# numpy's OpenBLAS keeps a pool of worker threads, and its fork handler can deadlock when a process is
# started (multiprocessing spawn forks before it execs) while another thread is inside a BLAS call: seen
# with the coverage classifier's background thread while a trainer process started. ganviz's numpy work is
# small, so one BLAS thread (no pool) costs nothing. Effective when ganviz is imported before numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

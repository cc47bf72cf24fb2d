"""Sweeps: many headless runs as pure tasks (config, seeds, steps) -> JSONL rows, on a local process pool or
Ray; tables and figures from the rows. Qt-free (the heatmap window lives in ganviz.qt.sweep_window).

    tasks.py        Task and run_task (the pure unit of work), row fields
    store.py        JSONL append / read / resume / shard
    backends.py     local process pool, Ray, the progress bar
    runner.py       run_sweep: tasks -> rows in a file
    grid.py         `--grid KEY=v1,v2` -> tasks
    reproduction.py the papers' comparisons: methods, base setups, published numbers, the table
    tables.py       grouping and statistics, the grid table, the heatmap matrix
    figures.py      matplotlib figures (PNG and SVG; optional extra ganviz[figures])
"""

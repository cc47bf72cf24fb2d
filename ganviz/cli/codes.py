"""Exit codes of the `ganviz` program."""

EXIT_BAD_ARGS = 2
EXIT_DIVERGED = 3
EXIT_OOM = 4  # out of memory on the CPU (on CUDA, train falls back to the CPU and goes on)
EXIT_NO_DISPLAY = 5  # the window was asked for on a machine with no display
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`ganviz list | head`): 128 + SIGPIPE, like Unix tools

"""`ganviz completion bash|zsh|tcsh`: print a shell completion script (made by shtab from the parser itself).

    ganviz completion bash > ~/.local/share/bash-completion/completions/ganviz
    ganviz completion zsh > ~/.zfunc/_ganviz          # with fpath+=~/.zfunc before compinit in ~/.zshrc
"""

from __future__ import annotations

import argparse

NAME = "completion"
HELP = "print a shell completion script: ganviz completion bash > ~/.local/share/bash-completion/completions/ganviz"
SHELLS = ("bash", "zsh", "tcsh")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")


def run(args: argparse.Namespace) -> int:
    import shtab

    from .parser import build_parser

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0

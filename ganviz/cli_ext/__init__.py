"""Extra `ganviz` subcommands, discovered automatically: every module here defines

    NAME: str                       the subcommand
    HELP: str                       one line for `ganviz --help`
    def add_arguments(parser)       fill the subcommand's argparse parser
    def run(args) -> int            execute; return the exit code (2 for bad arguments)

Modules must not import torch or Qt at import time (parsing stays fast); import inside run().
"""

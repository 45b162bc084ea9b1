"""`python -m bot` is the same as the `paperbot` command."""

from bot.cli import run_as_program

# Guarded: the snapshot importer's worker process (spawn) imports this module again.
if __name__ == "__main__":
    raise SystemExit(run_as_program())

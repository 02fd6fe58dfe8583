"""The installed `invrec` command's first module, kept light: a Ctrl-C while the command's
modules load (polars, Dagster: about a second) ends in one line too, not in a traceback."""

import sys


def command() -> None:
    try:
        from assets.cli import command as invrec
    except KeyboardInterrupt:
        print("invrec: interrupted; nothing written", file=sys.stderr)
        raise SystemExit(130) from None
    invrec()

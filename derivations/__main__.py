"""``python -m refimpl.derivations [NAME ...] [--latex]``: the same as ``refimpl derive``."""
import sys

from . import main

sys.exit(main(prog="python -m refimpl.derivations"))

"""SymPy derivations that check refimpl's numerics.

Each module ``derivations.<name>`` has

- ``TOPIC``: the refimpl topic it belongs to (used by ``refimpl verify TOPIC``);
- ``derive()``: derives the results symbolically from their definitions and
  returns them (a dict);
- ``check()``: compares the derived results with refimpl's numerics, raises
  :class:`derivations._util.DerivationError` on a mismatch and returns the
  maximum numerical error;

and runs as ``python -m derivations.<name>``, printing the derivation.
"""

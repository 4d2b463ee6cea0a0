"""The s4 rows of refimpl/ssm/cases.py (S4_CASES), run against their peers (the s4 transcriptions).

tests/test_cases.py runs every row of refimpl/<topic>/cases.py through
check_against; this file also runs the s4 rows on their deterministic
examples (corners first), each peer, norm-wise tolerances.
"""
import numpy as np
import pytest

from refimpl.ssm.cases import S4_CASES as CASES
from refimpl.ssm.hippo import __all__ as hippo_all
from refimpl.ssm.s4d import __all__ as s4d_all

ROWS = {c.name: c for c in CASES}
PEERS = [(c.name, k) for c in CASES for k in range(len(c.peers))]


def _parts(x):
    return list(x) if isinstance(x, tuple) else [x]


def _normwise_error(got, want, rtol, atol):
    got, want = _parts(got), _parts(want)
    assert len(got) == len(want)
    worst = 0.0
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        err = float(np.max(np.abs(g - w), initial=0.0))
        bound = atol + rtol * float(np.max(np.abs(w), initial=0.0))
        worst = max(worst, err / bound if bound > 0 else (np.inf if err > 0 else 0.0))
    return worst


@pytest.mark.parametrize("name,k", PEERS)
def test_row_matches_s4_peer(name, k):
    case = ROWS[name]
    peer = case.peers[k]
    reason = peer.available()
    if reason:
        pytest.skip(reason)
    rtol, atol = peer.tol if peer.tol is not None else case.tolerance("float64")
    for args, kwargs, drawn in case.examples(peer.examples, fixed=peer.fixed):
        got = case.call(args, kwargs)
        want = peer.func(*[v for n, v in args if n not in peer.fixed],  # pinned labels are not passed
                         **{k: v for k, v in kwargs.items() if k not in peer.fixed})
        ratio = _normwise_error(got, want, rtol, atol)
        assert ratio <= 1.0, f"{name} vs {peer.name}: error {ratio:.3g} x the bound at {drawn}"


def test_every_new_public_function_has_a_row():
    new = {"glagt", "tlagt", "legsd", "fourier_diag", "fourier_decay", "rank_correction"}
    assert new <= set(hippo_all)
    funcs = new | {n for n in s4d_all if n[0].islower()}
    assert {f"ssm.{n}" for n in funcs} == set(ROWS)


def test_corners_are_reachable():
    for case in CASES:
        for args, kwargs, drawn in case.examples(len(case.corners)):
            case.call(args, kwargs)

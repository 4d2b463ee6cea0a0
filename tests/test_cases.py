"""Every row of every case table (refimpl/<topic>/cases.py).

- each fast path (numba) against the reference definition on generated
  inputs, at the row's float64 tolerance: consistency, not verification;
- each peer (public code: scipy, torch, transformers, scikit-learn, the
  original repositories) through ``check_against``: independent;
- each number an article prints: independent.

A peer whose library is missing is reported as a skip with the reason;
nothing passes by being skipped.
"""
import pytest

from refimpl.testing import check_against
from refimpl.testing.cases import all_cases
from refimpl.testing.oracle import run_examples

CASES = all_cases()

FAST = [(n, b) for n, c in CASES.items() for b in c.fast if b != "cupy"]
PEERS = [(n, i) for n, c in CASES.items() for i in range(len(c.peers))]
ARTICLES = [(n, i) for n, c in CASES.items() for i in range(len(c.article))]


def test_every_topic_has_cases():
    from refimpl.testing.cases import topic_packages

    have = {c.topic for c in CASES.values()}
    assert set(topic_packages()) <= have, f"topics without a case table: {set(topic_packages()) - have}"


@pytest.mark.parametrize("name,backend", FAST, ids=[f"{n}[{b}]" for n, b in FAST])
def test_fast_path_agrees_with_reference(name, backend):
    case = CASES[name]

    def fast(*args, **kwargs):
        return case.func(*args, **kwargs, backend=backend)

    res = check_against(name, fast, max_examples=20)
    assert res, res.message


@pytest.mark.peer
@pytest.mark.parametrize("name,i", PEERS, ids=[f"{n}[{CASES[n].peers[i].name}]" for n, i in PEERS])
def test_peer_agrees_with_reference(name, i):
    peer = CASES[name].peers[i]
    missing = peer.available()
    if missing is not None:
        pytest.skip(f"peer {peer.name!r} of {name}: {missing}")
    rtol, atol = peer.tol if peer.tol is not None else (None, None)
    res = check_against(name, peer.func, dtype=peer.dtype, convert=peer.convert, fixed=peer.fixed or None,
                        max_examples=peer.examples, rtol=rtol, atol=atol)
    assert res, f"peer {peer.name}: {res.message}"
    corners = CASES[name].corners
    if corners:  # hypothesis need not reach the hard corners: run the deterministic ones too
        res = run_examples(CASES[name], peer.func, n=len(corners), dtype=peer.dtype, convert=peer.convert,
                           fixed=peer.fixed, rtol=rtol, atol=atol)
        assert res, f"peer {peer.name} on the corners: {res.message}"


@pytest.mark.parametrize("name,i", ARTICLES, ids=[f"{n}[{i}]" for n, i in ARTICLES])
def test_article_number(name, i):
    art = CASES[name].article[i]
    err, ratio = art.error()
    assert ratio <= 1.0, f"{art.what} ({art.url}): refimpl differs from the printed value by {err:.3e}"


@pytest.mark.parametrize("name", list(CASES))
def test_row_is_complete(name):
    case = CASES[name]
    assert case.why.strip(), f"case {name}: the tolerance reasoning ('why') is empty"
    assert case.examples(2), f"case {name}: no examples"

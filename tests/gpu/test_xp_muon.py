"""The CuPy Newton-Schulz code (batched products through ``xp``) run with ``xp = numpy``."""
import importlib

import numpy as np
import pytest

from refimpl import BackendUnavailableError
from refimpl.muon import newton_schulz

from ._util import numpy_as_cupy  # noqa: F401  (fixture)

ns_module = importlib.import_module("refimpl.muon.newton_schulz")
xp_module = importlib.import_module("refimpl.muon._xp")


@pytest.mark.parametrize("normalization", ["frobenius", "su_improved"])
@pytest.mark.parametrize("eps_mode", ["add", "clamp", "add_squared"])
@pytest.mark.parametrize("shape", [(3, 70, 40), (2, 40, 70), (2, 2, 33, 33)])
def test_batched_xp_route_matches_reference(normalization, eps_mode, shape):
    rng = np.random.default_rng(sum(shape))
    M = rng.standard_normal(shape)
    M[0] *= 1e-9  # exercises prescale
    sched = ns_module.resolve_coefficients("keller", None)
    for kind, tol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        ref = newton_schulz(M, normalization=normalization, eps_mode=eps_mode, dtype=kind, prescale=True,
                            backend="reference")
        got = xp_module.newton_schulz_xp(np, np.ascontiguousarray(M), sched, 1e-7, normalization, eps_mode, True,
                                         True, kind)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        assert np.max(np.abs(got.astype(np.float64) - ref)) <= tol


def test_backend_cupy_route_with_numpy_stand_in(numpy_as_cupy):
    M = np.random.default_rng(0).standard_normal((4, 48, 32))
    got = newton_schulz(M, "polar_express", backend="cupy")
    ref = newton_schulz(M, "polar_express", backend="reference")
    assert np.max(np.abs(got - ref)) <= 1e-12
    with pytest.raises(ValueError, match="'dtype'"):
        newton_schulz(M, dtype="bfloat16", backend="cupy")
    with pytest.raises(ValueError, match="'M'"):
        newton_schulz(np.full((3, 3), np.nan), backend="cupy")


def test_backend_names(monkeypatch):
    import refimpl._backend as backend

    monkeypatch.setattr(backend, "cupy_or_none", lambda: None)
    with pytest.raises(BackendUnavailableError, match="CuPy"):
        newton_schulz(np.eye(3), backend="cupy")
    with pytest.raises(ValueError, match="'backend'"):
        newton_schulz(np.eye(3), backend="numba")
    assert newton_schulz(np.eye(3), backend="auto").shape == (3, 3)


def test_cupy_input_routes_to_device(monkeypatch):
    from ._util import FakeCupyArray
    import refimpl._backend as backend
    import refimpl._gpu as gpu

    fake = object()
    monkeypatch.setattr(backend, "cupy_or_none", lambda: fake)
    monkeypatch.setattr(gpu, "cupy_or_none", lambda: fake)
    seen = []

    def fake_as_array(x, name, xp=np, **kw):
        seen.append(xp)
        raise RuntimeError("stop after routing")

    monkeypatch.setattr(ns_module, "as_array", fake_as_array)
    with pytest.raises(RuntimeError, match="stop after routing"):
        newton_schulz(FakeCupyArray(np.eye(3)))
    assert seen == [fake]

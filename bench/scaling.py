"""Benchmarks of refimpl.scaling: the Monte-Carlo optimal learning rate on the noisy quadratic model."""
from __future__ import annotations

import numpy as np

from refimpl.scaling import nqm_optimal_lr, optimal_lr_sign

from ._harness import Impl, Spec, case, optional_torch


def _torch_sign_nqm(torch, g, h, sd, n_samples, seed, rows=256):
    """The same estimator written in torch (CPU, float64, one thread): chunked randn, sign, two reductions.

    One thread: on a shared 2-core machine torch's intra-op threads on
    256 x 1000 blocks were up to 10x slower than one thread.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        gt, ht, st = (torch.from_numpy(v) for v in (g, h, sd))
        sa = sb = 0.0
        done = 0
        buf = torch.empty((rows, g.shape[0]), dtype=torch.float64)
        while done < n_samples:
            m = min(rows, n_samples - done)
            z = buf[:m]
            z.normal_(generator=gen)
            torch.addcmul(gt, z, st, out=z)
            z.sign_()
            sa += float((z @ gt).sum())
            sb += float((z.square_() @ ht).sum())
            done += m
    finally:
        torch.set_num_threads(threads)
    return np.array([sa / sb])


def _numba_one_thread(fn):
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn()
    finally:
        numba.set_num_threads(old)


@case("scaling.nqm_optimal_lr")
def nqm_case(quick):
    n, N, B = (50, 2_000, 8.0) if quick else (1000, 1_000_000, 8.0)
    rng = np.random.default_rng(0)
    g = rng.standard_normal(n)
    h = rng.uniform(0.5, 2.0, n)
    var = rng.uniform(1.0, 4.0, n)
    sd = np.sqrt(var / B)
    exact = optimal_lr_sign(g, np.sqrt(var), h, B)

    def run(backend):
        return nqm_optimal_lr(g, h, var, [B], update="sign", n_samples=N, rng=1, backend=backend).eta

    impls = [
        Impl("refimpl numba (fused, ziggurat RNG)", "refimpl", lambda: run("numba"), jit=True),
        Impl("refimpl numba, 1 thread", "refimpl", lambda: _numba_one_thread(lambda: run("numba")), jit=True),
    ]
    if quick:  # the definition: a Python loop over samples, a few microseconds each (minutes at full size)
        impls.append(Impl("refimpl reference loop (NumPy Generator)", "refimpl", lambda: run("reference")))
    torch = optional_torch()
    if torch is not None:
        impls.append(Impl("torch CPU float64 (same estimator)", "peer", lambda: _torch_sign_nqm(torch, g, h, sd, N, 2)))
    # each estimate has relative standard error ~ 1.4e-5 at full size (~3e-3 quick); the
    # three use independent random streams, so they are compared at ~5 s.e. of a difference
    rtol = 3e-2 if quick else 1e-4
    return Spec(f"SignSGD optimal-LR Monte-Carlo on the NQM: n={n}, {N:.0e} samples, B={B:g}, diagonal H "
                f"(closed form {exact:.6f})", impls, reference="refimpl numba (fused, ziggurat RNG)", rtol=rtol,
                notes="statistical agreement only (independent random streams; the two numba rows share one "
                      "stream, so they agree exactly); numba uses all threads (prange over chunks), torch one; "
                      "the reference loop (quick runs only) is the definition, not a contender")

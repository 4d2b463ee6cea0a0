"""GPU benchmark cases: refimpl's CuPy paths vs torch CUDA vs the NumPy/numba CPU paths.

Registered only when CuPy imports and sees a CUDA device, so ``python -m
bench`` on a machine without a GPU lists none of them. Run them with
``python -m bench gpu`` (or ``bench/gpu.sh``, which also installs, runs the
``gpu`` tests and writes the table).

Timing: every GPU implementation synchronises its device before returning,
so the harness's wall-clock median is the kernel time plus launch overhead.
Outputs stay on the device during timing; the comparison copies them to the
host afterwards (``Spec.compare``). The first-call column includes CUDA
context start, cuBLAS handle creation and RawKernel compilation.

Sizes: causal attention at 64k tokens (d = 64, float64), RoPE on
1M tokens x 128, the S4 Cauchy product at L = 65,536, Newton--Schulz on an
8192 x 8192 matrix, and the noisy-quadratic Monte-Carlo. CPU rows are
included where one call takes seconds at most; where the CPU path is
impractical at full size the case says so and its reference is a CPU slice
(the last 64 query rows of attention) or the float64 GPU result (checked
against NumPy in the ``gpu`` tests).
"""
from __future__ import annotations

import math

import numpy as np

from refimpl._backend import cupy_or_none
from refimpl._gpu import to_host

from ._harness import Impl, Spec, case, optional_torch

cp = cupy_or_none()


def _torch_cuda():
    torch = optional_torch()
    if torch is None or not torch.cuda.is_available():
        return None
    return torch


def _sync_cp(fn):
    def run():
        out = fn()
        cp.cuda.get_current_stream().synchronize()
        return out
    return run


def _sync_torch(torch, fn):
    def run():
        out = fn()
        torch.cuda.synchronize()
        return out
    return run


def _device_name():
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _host_compare(tail=None):
    def conv(x):
        h = to_host(x)
        return h if tail is None else h[..., -tail:, :]
    return conv


def _floor_device_copy(nbytes, label):
    """Device memory floor: copy nbytes between two device buffers (read + write, as a pass over x)."""
    src = cp.ones(max(1, nbytes // 8))
    dst = cp.empty_like(src)

    def fn():
        dst[...] = src
        cp.cuda.get_current_stream().synchronize()
        return None

    return Impl(label, "floor", fn)


def _floor_device_gemm(n, count, dtype, label):
    a = cp.ones((n, n), dtype=dtype)
    b = cp.ones((n, n), dtype=dtype)
    c = cp.empty((n, n), dtype=dtype)

    def fn():
        for _ in range(count):
            cp.matmul(a, b, out=c)
        cp.cuda.get_current_stream().synchronize()
        return None

    return Impl(label, "floor", fn)


# ----------------------------------------------------------------------------- attention
def _attention_case(n_full, n_quick, cpu_full):
    def setup(quick):
        from refimpl.attention import attention

        n = n_quick if quick else n_full
        d = 64
        rng = np.random.default_rng(n)
        q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
        gq, gk, gv = (cp.asarray(a) for a in (q, k, v))
        impls = [Impl("refimpl cupy float64 (streaming)", "refimpl",
                      _sync_cp(lambda: attention(gq, gk, gv, causal=True)), jit=True)]
        notes = [f"device: {_device_name()}"]
        torch = _torch_cuda()
        if torch is not None:
            F = torch.nn.functional
            tq, tk, tv = (torch.from_numpy(a).cuda() for a in (q, k, v))
            if cpu_full or quick:
                impls.append(Impl("torch CUDA SDPA float64", "peer", _sync_torch(torch, lambda: F.scaled_dot_product_attention(
                    tq, tk, tv, is_causal=True, scale=1 / math.sqrt(d)))))
            else:
                notes.append("torch CUDA SDPA float64 omitted at this length: its float64 path is the "
                             "materialising math kernel (n x n scores, ~24 n^2 bytes = "
                             f"{24 * n * n / 2**30:.0f} GiB)")
            tq32, tk32, tv32 = (t.float()[None, None] for t in (tq, tk, tv))
            impls.append(Impl("torch CUDA SDPA float32", "peer", _sync_torch(torch, lambda: F.scaled_dot_product_attention(
                tq32, tk32, tv32, is_causal=True, scale=1 / math.sqrt(d))[0, 0])))
            notes.append("torch float32 is a speed reference for a float32 kernel (refimpl computes float64); "
                         "its error vs the float64 oracle is ~1e-6 relative, within this case's rtol")
        if cpu_full or quick:
            impls.append(Impl("refimpl numba CPU streaming", "refimpl",
                              lambda: attention(q, k, v, causal=True, backend="numba"), jit=True))
            impls.append(Impl("refimpl numpy CPU materialising", "refimpl",
                              lambda: attention(q, k, v, causal=True, backend="numpy")))
            ref, compare = "refimpl numpy CPU materialising", _host_compare()
        else:
            impls.append(Impl("refimpl numpy CPU, last 64 query rows", "refimpl",
                              lambda: attention(q[-64:], k, v, causal=True, backend="numpy")))
            ref, compare = "refimpl numpy CPU, last 64 query rows", _host_compare(64)
            notes.append("the CPU paths at this length take minutes (numba) or n^2 memory (NumPy): the "
                         "reference is the NumPy twin on the last 64 queries, which see exactly the keys "
                         "they see in the full problem (bottom-right causal alignment)")
        flops = 2 * n * n * d  # the causal halves of Q K^T and P V
        g = 4096 if not quick else 256
        impls.append(_floor_device_gemm(g, max(1, round(flops / (2 * g**3))), np.float64,
                                        f"floor: 2n^2d flops as float64 GEMMs {g}^3 on GPU"))
        return Spec(f"GPU causal attention n={n}, d={d}, one head", impls, reference=ref,
                    rtol=2e-5, compare=compare, notes="; ".join(notes) + ". refimpl cupy vs the NumPy oracle "
                    "is checked to 1e-12 in tests/gpu; the case rtol admits the float32 peer.",
                    reps=None if quick else (1 if cpu_full else 3))
    return setup


# ----------------------------------------------------------------------------- RoPE
def _torch_rope_half(torch, xt, pos64, inv64):
    """transformers' rotate_half path, angles and cos/sin in float64 then cast (the same operation as refimpl)."""
    h = inv64.shape[0]
    freqs = pos64[:, None] * inv64[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(xt.dtype), emb.sin().to(xt.dtype)
    x1, x2 = xt[..., :h], xt[..., h:]
    return xt * cos + torch.cat((-x2, x1), dim=-1) * sin


def _rope_case(dtype):
    def setup(quick):
        from refimpl.rope import _xp as rope_xp
        from refimpl.rope import apply, inv_freq

        S, D = (4096, 128) if quick else (1 << 20, 128)
        x = np.random.default_rng(0).standard_normal((S, D)).astype(dtype)
        pos = np.arange(S)
        th = inv_freq(D)
        gx, gpos, gth = cp.asarray(x), cp.asarray(pos), cp.asarray(th)
        gout = cp.empty_like(gx)
        impls = [
            Impl("refimpl cupy fused RawKernel", "refimpl", _sync_cp(lambda: apply(gx, gpos, gth)), jit=True),
            Impl("refimpl cupy fused, out= preallocated", "refimpl",
                 _sync_cp(lambda: apply(gx, gpos, gth, out=gout)), jit=True),
            Impl("refimpl cupy xp code (not fused)", "refimpl",
                 _sync_cp(lambda: rope_xp.apply(cp, gx, gpos, gth, fused=False))),
        ]
        torch = _torch_cuda()
        if torch is not None:
            xt = torch.from_numpy(x).cuda()
            pos_t = torch.arange(S, dtype=torch.float64, device="cuda")
            inv_t = torch.from_numpy(th).cuda()
            impls.append(Impl("torch CUDA rotate_half", "peer",
                              _sync_torch(torch, lambda: _torch_rope_half(torch, xt, pos_t, inv_t))))
        impls.append(Impl("refimpl numba CPU (fused)", "refimpl", lambda: apply(x, pos, th, backend="numba"),
                          jit=True))
        impls.append(Impl("refimpl reference CPU", "refimpl", lambda: apply(x, pos, th, backend="reference")))
        impls.append(_floor_device_copy(x.nbytes, f"floor: device copy of x ({x.nbytes / 2**20:.0f} MiB)"))
        rtol = 1e-12 if dtype == np.float64 else 4 * np.finfo(np.float32).eps
        return Spec(f"GPU rope.apply, x ({S}, {D}) {np.dtype(dtype).name}, half layout", impls,
                    reference="refimpl reference CPU", rtol=rtol, compare=_host_compare(),
                    notes=f"device: {_device_name()}; torch forms float64 angles and cos/sin (cast to x's "
                          f"dtype), as refimpl does, so outputs agree to the output rounding",
                    reps=None if quick else 3)
    return setup


if cp is not None:
    case("gpu.attention_causal_16k")(_attention_case(16384, 512, True))
    case("gpu.attention_causal_64k")(_attention_case(65536, 1024, False))
    case("gpu.rope_1m_float32")(_rope_case(np.float32))
    case("gpu.rope_1m_float64")(_rope_case(np.float64))


# ----------------------------------------------------------------------------- Cauchy
def _cauchy_case():
    def setup(quick):
        from refimpl.ssm import _xp as ssm_cupy
        from refimpl.ssm import cauchy

        H, N, L = (4, 16, 512) if quick else (16, 64, 65536)
        rng = np.random.default_rng(0)
        v = rng.standard_normal((H, N)) + 1j * rng.standard_normal((H, N))
        w = -0.5 + 1j * np.pi * np.arange(N)[None, :] * rng.uniform(0.5, 1.5, (H, 1))  # S4D-Lin-like poles
        z = 2j * np.tan(np.pi * np.arange(L) / (2 * L + 1))                            # bilinear nodes
        gv, gz, gw = (cp.asarray(a) for a in (v, z, w))
        impls = [
            Impl("refimpl cupy RawKernel", "refimpl", _sync_cp(lambda: cauchy(gv, gz, gw, conj=True)), jit=True),
            Impl("refimpl cupy xp twin (chunked broadcast)", "refimpl",
                 _sync_cp(lambda: ssm_cupy.cauchy_cupy(cp, gv, gz, gw, True, raw=False))),
        ]
        torch = _torch_cuda()
        if torch is not None:
            tv, tz, tw = (torch.from_numpy(a).cuda() for a in (v, z, w))

            def torch_naive():  # the broadcast form of s4's cauchy_naive, conjugate half appended
                vv = torch.cat([tv, tv.conj()], dim=-1)
                ww = torch.cat([tw, tw.conj()], dim=-1)
                return (vv.unsqueeze(-1) / (tz - ww.unsqueeze(-1))).sum(dim=-2)

            impls.append(Impl("torch CUDA broadcast (s4 cauchy_naive form)", "peer",
                              _sync_torch(torch, torch_naive)))
        impls.append(Impl("refimpl numba CPU", "refimpl", lambda: cauchy(v, z, w, conj=True, backend="numba"),
                          jit=True))
        if quick:
            impls.append(Impl("refimpl numpy CPU twin", "refimpl",
                              lambda: cauchy(v, z, w, conj=True, backend="numpy")))
        return Spec(f"GPU ssm.cauchy conj=True, H={H} channels, N={N} poles, L={L} nodes, complex128", impls,
                    reference="refimpl numba CPU", rtol=1e-11, compare=_host_compare(),
                    notes=f"device: {_device_name()}; reference: the numba CPU kernel (tested against the NumPy "
                          f"twin); the NumPy broadcasting twin is omitted at full size (H L N complex "
                          f"temporaries, seconds per call on the CPU)",
                    reps=None if quick else 3)
    return setup


if cp is not None:
    case("gpu.cauchy_65536")(_cauchy_case())


# ----------------------------------------------------------------------------- Newton-Schulz
def _torch_newton_schulz(torch, G, steps=5, eps=1e-7):
    """The quintic iteration with Keller Jordan's coefficients, float32 on CUDA (written for this bench)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G / (torch.linalg.matrix_norm(G, ord="fro", dim=(-2, -1), keepdim=True) + eps)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X


def _ns_case():
    def setup(quick):
        from refimpl.muon import newton_schulz

        n = 256 if quick else 8192
        M = np.random.default_rng(0).standard_normal((n, n))
        gM = cp.asarray(M)
        impls = [
            Impl("refimpl cupy float32", "refimpl", _sync_cp(lambda: newton_schulz(gM, dtype="float32")), jit=True),
            Impl("refimpl cupy float64", "refimpl", _sync_cp(lambda: newton_schulz(gM))),
        ]
        torch = _torch_cuda()
        if torch is not None:
            tM = torch.from_numpy(M).cuda().float()
            impls.append(Impl("torch CUDA float32 (Keller's quintic)", "peer",
                              _sync_torch(torch, lambda: _torch_newton_schulz(torch, tM))))
        if quick:
            impls.append(Impl("refimpl numpy CPU float64", "refimpl", lambda: newton_schulz(M, backend="numpy")))
        flops = 5 * 3 * 2 * n**3
        impls.append(_floor_device_gemm(n, 15, np.float32, f"floor: 15 float32 GEMMs {n}^3 on GPU "
                                                           f"({flops / 1e12:.1f} Tflop)"))
        return Spec(f"GPU muon.newton_schulz, keller, 5 steps, M {n}x{n}", impls,
                    reference="refimpl numpy CPU float64" if quick else "refimpl cupy float64", rtol=1e-4,
                    compare=_host_compare(),
                    notes=f"device: {_device_name()}; the NumPy CPU path at 8192 (1.6e13 flops in float64) "
                          f"takes about a minute per call and is left out; the float64 CuPy path is checked "
                          f"against it in tests/gpu (to 1e-12); rtol admits the float32 rows",
                    reps=None if quick else 3)
    return setup


if cp is not None:
    case("gpu.newton_schulz_8192")(_ns_case())


# ----------------------------------------------------------------------------- noisy quadratic Monte-Carlo
def _nqm_case():
    def setup(quick):
        from refimpl.scaling import nqm_optimal_lr, optimal_lr_sgd

        n, N = (16, 20_000) if quick else (256, 200_000)
        rng = np.random.default_rng(0)
        g = rng.standard_normal(n)
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        H = A @ A.T + np.eye(n)
        C = rng.standard_normal((n, n)) / np.sqrt(n)
        S = C @ C.T + 0.1 * np.eye(n)
        bs = np.array([1.0, 16.0, 256.0])
        gg, gH, gS = cp.asarray(g), cp.asarray(H), cp.asarray(S)
        exact = np.array([optimal_lr_sgd(g, H, S, B) for B in bs])
        impls = [
            Impl("closed form optimal_lr_sgd", "refimpl", lambda: exact),
            Impl("refimpl cupy Monte-Carlo", "refimpl",
                 _sync_cp(lambda: nqm_optimal_lr(gg, gH, gS, bs, n_samples=N, rng=1).eta)),
            Impl("refimpl numba CPU Monte-Carlo", "refimpl",
                 lambda: nqm_optimal_lr(g, H, S, bs, n_samples=N, rng=1, backend="numba").eta, jit=True),
        ]
        if quick:
            impls.append(Impl("refimpl reference CPU Monte-Carlo (loop)", "refimpl",
                              lambda: nqm_optimal_lr(g, H, S, bs, n_samples=N, rng=1, backend="reference").eta))
        torch = _torch_cuda()
        if torch is not None:
            tg, tH = torch.from_numpy(g).cuda(), torch.from_numpy(H).cuda()
            tL = torch.linalg.cholesky(torch.from_numpy(S).cuda())
            block = max(1, (1 << 24) // n)

            def torch_mc():  # eta = mean(u.g) / mean(u.H.u), u ~ N(g, S / B), in blocks of normals
                gen = torch.Generator(device="cuda").manual_seed(1)
                out = []
                for B in bs:
                    sa = torch.zeros((), dtype=torch.float64, device="cuda")
                    sb = torch.zeros((), dtype=torch.float64, device="cuda")
                    done = 0
                    while done < N:
                        m = min(block, N - done)
                        Z = torch.randn((m, n), dtype=torch.float64, device="cuda", generator=gen)
                        X = tg + (Z @ tL.mT) / float(np.sqrt(B))
                        sa += (X @ tg).sum()
                        sb += ((X @ tH) * X).sum()
                        done += m
                    out.append(sa / sb)
                return torch.stack(out)

            impls.append(Impl("torch CUDA Monte-Carlo (float64)", "peer", _sync_torch(torch, torch_mc)))
        return Spec(f"GPU scaling.nqm_optimal_lr, dense H and Sigma, n={n}, {N} samples x {len(bs)} batch sizes",
                    impls, reference="closed form optimal_lr_sgd", rtol=2e-2 if quick else 1e-3,
                    compare=_host_compare(),
                    notes=f"device: {_device_name()}; Monte-Carlo estimates agree with the closed form to their "
                          f"standard error (~1e-4 of max eta here; measured on CPU: errors <= 4e-5), hence "
                          f"rtol 1e-3; independent random streams",
                    reps=None if quick else 2)
    return setup


if cp is not None:
    case("gpu.nqm_montecarlo")(_nqm_case())

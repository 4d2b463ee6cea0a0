"""Benchmarks of refimpl.rope: ``apply`` (fused numba vs the reference vs torch CPU vs a memory-copy floor)."""
from __future__ import annotations

import numpy as np

from refimpl.rope import apply, inv_freq

from ._harness import Impl, Spec, case, floor_copy, optional_torch


def _torch_half(torch, xt, pos_t, inv_t):
    """transformers' Llama path: freqs, cat(freqs, freqs), cos/sin, q * cos + rotate_half(q) * sin."""
    h = inv_t.shape[0]
    freqs = pos_t[:, None] * inv_t[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(xt.dtype), emb.sin().to(xt.dtype)
    x1, x2 = xt[..., :h], xt[..., h:]
    return xt * cos + torch.cat((-x2, x1), dim=-1) * sin


def _torch_interleaved(torch, xt, pos_t, inv_t):
    """GPT-J's path: repeat_interleave of sin/cos and rotate_every_two."""
    freqs = pos_t[:, None] * inv_t[None, :]
    cos = torch.repeat_interleave(freqs.cos(), 2, dim=-1).to(xt.dtype)
    sin = torch.repeat_interleave(freqs.sin(), 2, dim=-1).to(xt.dtype)
    rot = torch.stack((-xt[..., 1::2], xt[..., 0::2]), dim=-1).flatten(-2)
    return xt * cos + rot * sin


def _make(layout, dtype):
    def setup(quick):
        B, H, S, D = (1, 2, 64, 32) if quick else (4, 32, 4096, 128)
        x = np.random.default_rng(0).standard_normal((B, H, S, D)).astype(dtype)
        pos = np.arange(S)
        th = inv_freq(D)
        out = np.empty_like(x)
        impls = [
            Impl("refimpl numba (fused)", "refimpl", lambda: apply(x, pos, th, layout, backend="numba"),
                 jit=True),
            Impl("refimpl numba, out= preallocated", "refimpl",
                 lambda: apply(x, pos, th, layout, out=out, backend="numba"), jit=True),
            Impl("refimpl reference", "refimpl", lambda: apply(x, pos, th, layout, backend="reference")),
        ]
        torch = optional_torch()
        if torch is not None:
            xt = torch.from_numpy(x)
            fdt = torch.float32 if dtype == np.float32 else torch.float64
            pos_t = torch.arange(S, dtype=fdt)
            inv_t = torch.from_numpy(th).to(fdt)
            fn = _torch_half if layout == "half" else _torch_interleaved
            label = "torch CPU (rotate_half)" if layout == "half" else "torch CPU (GPT-J rotate_every_two)"
            impls.append(Impl(label, "peer", lambda: fn(torch, xt, pos_t, inv_t).numpy()))
        impls.append(floor_copy(x.nbytes, f"floor: memcpy of x ({x.nbytes / 2**20:.0f} MiB)"))
        name = np.dtype(dtype).name
        # torch float32 forms the angles pos * inv_freq in float32: |angle| up to S, error ~ S 2**-24
        rtol = 1e-12 if dtype == np.float64 else 4 * S * 2.0**-24 + 1e-6
        return Spec(f"apply, x ({B}, {H}, {S}, {D}) {name}, layout={layout}, positions 0..{S - 1}", impls,
                    reference="refimpl reference", rtol=rtol,
                    notes="refimpl computes angles/cos/sin in float64 and rounds once; torch float32 uses "
                          "float32 angles (rtol ~ S * 2**-24)" if dtype == np.float32 else "")
    return setup


for _layout in ("half", "interleaved"):
    for _dtype in (np.float32, np.float64):
        case(f"rope.apply_{_layout}_{np.dtype(_dtype).name}")(_make(_layout, _dtype))

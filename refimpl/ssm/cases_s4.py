"""Case rows of what refimpl.ssm takes from state-spaces/s4: the extra measures, s4_nplr, s4d_init, kernel_dss.

Every peer is a transcription of the s4 code in ``refimpl/ssm/_s4_peer.py``
(https://github.com/state-spaces/s4 at e757cef5), run in float64 where s4
hard-codes float32. Tolerances are norm-wise,
``max|actual - expected| <= atol + rtol max|expected|``.
"""
from __future__ import annotations

from ..testing.cases import Case, Peer
from . import _s4_peer
from .hippo import fourier_decay, fourier_diag, glagt, legsd, rank_correction, tlagt
from .s4d import S4D_B_INITS, S4D_INITS, kernel_dss, s4_nplr, s4d_init

_CLOSED_FORM = ("entries are closed forms (a square root, a ratio of Gamma functions, a multiple of pi): "
                "refimpl and s4 evaluate them in different orders (s4 forms T M T^-1 and "
                "sqrt(2i+1) sqrt(2j+1); refimpl one sqrt of an exact integer product), a few ulps apart; "
                "measured <= 2.3e-16 relative to the largest entry for N <= 64. rtol 1e-14.")


def _glagt_inputs(src):
    return {"N": src.integer("N", 1, 64), "alpha": src.real("alpha", -0.9, 0.9), "beta": src.real("beta", 1e-3, 4.0,
                                                                                                    log=True)}


def _tlagt_inputs(src):
    return {"N": src.integer("N", 1, 64), "beta": src.real("beta", 0.05, 4.0, log=True)}


def _n_inputs(src):
    return {"N": src.integer("N", 1, 64)}


def _even_inputs(src):
    return {"N": src.even("N", 2, 64)}


def _rank_correction_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "fourier", "fourier_decay", "fourier_diag", "legsd"))
    need = 2 if measure == "legt" else 1
    return {"measure": measure, "N": src.even("N", 2, 64), "rank": need + src.integer("extra_rank", 0, 2)}


def _s4_nplr_inputs(src):
    measure = src.choice("measure", ("legs", "legt", "lagt", "legsd"))
    need = 2 if measure == "legt" else 1
    return {"measure": measure, "N": src.even("N", 4, 64), "rank": need + src.integer("extra_rank", 0, 1),
            "B_clip": src.choice("B_clip", (2.0, 0.5, None))}


def _s4d_init_inputs(src):
    init = src.choice("init", S4D_INITS)
    return {"init": init, "N": 4 * src.integer("N_over_4", 1, 16),
            "real_scale": 1.0 if init == "real" else src.real("real_scale", 0.1, 4.0, log=True),
            "imag_scale": src.real("imag_scale", 0.0, 2.0), "B_init": src.choice("B_init", S4D_B_INITS),
            "B_scale": src.real("B_scale", 0.25, 4.0, log=True), "B_clip": src.choice("B_clip", (2.0, 1.0, None)),
            "normalize": src.boolean("normalize")}


def _kernel_dss_inputs(src):
    N = src.integer("N", 1, 32)
    Lam = src.normal("Lambda", (N,), complex=True) * src.real("Lambda_scale", 0.1, 10.0, log=True)
    return {"Lambda": Lam, "B": src.normal("B", (N,), complex=True), "C": src.normal("C", (N,), complex=True),
            "dt": src.real("dt", 1e-3, 1.0, log=True), "L": src.integer("L", 1, 256),
            "eps": src.choice("eps", (1e-7, 0.0))}


def _pair(measure):
    return lambda N, **kw: _s4_peer.transition(measure, N, **kw)


def _torch_rank_correction(measure):
    """The peer of one pinned measure (a pinned label is not passed to the peer)."""
    def peer(N, rank=1):
        import torch

        # s4 returns its Fourier rows in float32 whatever dtype says: widened exactly, the values are s4's
        return _s4_peer.rank_correction(measure, N, rank=rank, dtype=torch.double).to(torch.double).numpy()

    return peer


def _torch_nplr(measure, N, rank=1, B_clip=2.0):
    import torch

    return _s4_peer.nplr(measure, N, rank, dtype=torch.double, B_clip=B_clip)


def _torch_dplr(init="legs", N=64, real_scale=1.0, imag_scale=1.0, B_init="constant", B_scale=1.0, B_clip=2.0,
                normalize=False):
    import torch

    return _s4_peer.dplr(init, N, dtype=torch.double, real_scale=real_scale, imag_scale=imag_scale, B_init=B_init,
                         B_scale=B_scale, normalize=normalize, B_clip=B_clip)


_TRANSCRIPTION = "transcription of state-spaces/s4 src/models/hippo/hippo.py transition()"

CASES = [
    Case("ssm.glagt", glagt, inputs=_glagt_inputs, tol={"float64": (1e-14, 0.0)}, why=_CLOSED_FORM,
         peers=(Peer("s4 transition('glagt')", _pair("glagt"), requires=("scipy",), why=_TRANSCRIPTION),),
         corners=({"alpha": -0.9, "N": 64}, {"alpha": 0.9, "beta": 1e-3})),
    Case("ssm.tlagt", tlagt, inputs=_tlagt_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries are 0, -1, beta and (1-beta)/2: exact in both codes. rtol 1e-15.",
         peers=(Peer("s4 transition('tlagt')", _pair("tlagt"), why=_TRANSCRIPTION),)),
    Case("ssm.legsd", legsd, inputs=_n_inputs, tol={"float64": (1e-14, 0.0)}, why=_CLOSED_FORM,
         peers=(Peer("s4 transition('legsd')", _pair("legsd"), why=_TRANSCRIPTION),)),
    Case("ssm.fourier_diag", fourier_diag, inputs=_even_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries 2 pi k, -1/2, 1, sqrt 2: one rounding each in both codes. rtol 1e-15.",
         peers=(Peer("s4 transition('fourier_diag')", _pair("fourier_diag"), why=_TRANSCRIPTION),)),
    Case("ssm.fourier_decay", fourier_decay, inputs=_even_inputs, tol={"float64": (1e-15, 0.0)},
         why="entries pi k, products of 1 and sqrt 2 halved: one or two roundings each. rtol 1e-15.",
         peers=(Peer("s4 transition('fourier_decay')", _pair("fourier_decay"), why=_TRANSCRIPTION),)),
    Case("ssm.rank_correction", rank_correction, inputs=_rank_correction_inputs, tol={"float64": (1e-15, 0.0)},
         why="square roots of n + 1/2, 2n + 1 and 2: one or two roundings. The peer is run with dtype=double "
             "where s4 takes a dtype; s4 builds the Fourier rows in float32 whatever dtype says (1, sqrt 2 "
             "rounded to float32: 1.2e-8 relative), so that peer is held to 3e-8.",
         peers=(Peer("s4 rank_correction (torch, float64)", _torch_rank_correction("legs"),
                     requires=("torch",),
                     fixed={"measure": "legs"}, why="float64 path of s4's code"),
                Peer("s4 rank_correction('legt') (torch, float64)", _torch_rank_correction("legt"),
                     requires=("torch",),
                     fixed={"measure": "legt"}, why="float64 path of s4's code"),
                Peer("s4 rank_correction('fourier') (float32 rows)", _torch_rank_correction("fourier"),
                     requires=("torch",),
                     fixed={"measure": "fourier"}, tol=(3e-8, 0.0),
                     why="s4 builds these rows in float32: sqrt 2 off by 1.2e-8 relative"))),
    Case("ssm.s4_nplr", s4_nplr, inputs=_s4_nplr_inputs, tol={"float64": (1e-11, 0.0)},
         why="Lambda: eigenvalues of a normal matrix, backward stable (error <= N eps ||A||; measured 1e-15 "
             "relative for N <= 128). V, B, P: eigenvectors, error ~ N eps ||A|| / gap; the LegS/LegT/LagT "
             "gaps shrink with N, measured against the torch transcription 1e-13 (V) and 2e-14 (B) relative "
             "to the largest entry at N = 64..128. rtol 1e-11 leaves a factor 100. Both sides fix the sign of "
             "each eigenvector the same way (LAPACK leaves it free).",
         peers=(Peer("s4 nplr (torch eigh, float64)", _torch_nplr, requires=("torch",),
                     why="s4's nplr step by step in torch, dtype=double, signs fixed as refimpl documents"),)),
    Case("ssm.s4d_init", s4d_init, inputs=_s4d_init_inputs, tol={"float64": (1e-11, 0.0)},
         why="closed forms (pi n, N/pi (N/(2n+1) - 1), (2n+1)^2/pi): a few ulps; the LegS parts are "
             "eigenvalues and V^* B of s4_nplr (measured 2.2e-14 relative to max|B| at N = 64 against the "
             "torch transcription). rtol 1e-11 as s4_nplr.",
         peers=(Peer("s4 dplr (torch, float64)", _torch_dplr, requires=("torch",),
                     why="s4's dplr with H = 1 and dtype=double (s4 calls nplr in float32)"),),
         corners=({"init": "real"}, {"init": "legs", "B_clip": None}, {"B_init": "alternating", "normalize": True})),
    Case("ssm.kernel_dss", kernel_dss, inputs=_kernel_dss_inputs, tol={"float64": (1e-11, 0.0)},
         why="each term is exp of a phase dt lambda l (|dt lambda L| <= 1 * 30 * 256 = 7.7e3 for these draws), "
             "rounded once: relative error <= 7.7e3 eps = 1.7e-12 per term in the worst draw; terms of random "
             "B, C add with cancellation of a few units. Measured against the torch transcription of s4's "
             "dss branch: 3e-15 for L = 100. rtol 1e-11.",
         peers=(Peer("s4 SSMKernelDiag disc='dss' (torch, float64)", _s4_peer.dss_kernel, requires=("torch",),
                     why="the dss branch of SSMKernelDiag.forward in torch complex128"),),
         corners=({"eps": 0.0}, {"L": 1}, {"L": 256, "Lambda_scale": 10.0, "dt": 1.0})),
]

"""Matplotlib plot functions of ``refimpl figures`` (Agg backend, no display).

Each ``plot_<name>(data)`` takes the dict returned by the data function of
the same name in :mod:`refimpl.figures.data` and returns a Figure.
"""
from __future__ import annotations

import numpy as np

from .data import MUON_LABELS, ROPE_SCALING_METHODS, S4_ROUTES


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7, "axes.grid": True,
                         "grid.alpha": 0.3, "svg.hashsalt": "refimpl", "lines.linewidth": 1.2})
    return plt


def _figure(ncols=1, width=7.2, height=3.2):
    plt = _plt()
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
    return fig, axes


def _source(fig, text):
    fig.get_layout_engine().set(h_pad=0.04)
    fig.supxlabel(text, fontsize=6.5, color="0.35")


def plot_rope_decay(data):
    """The RoPE long-range decay bound against relative distance, one curve per base (8265, 9675).

    Returns the matplotlib Figure.
    """
    fig, ax = _figure(1, 7.2, 3.0)
    for b, curve in zip(data["bases"], data["curves"]):
        ax.plot(data["distances"], curve, lw=0.6, label=f"base {b:g}")
    ax.plot([0], [data["article_m0"]], "k*", ms=9, label=f"article: value {float(data['article_m0']):g} at m = 0")
    ax.set_xscale("symlog", linthresh=16)
    ax.set_xlabel("relative distance m (tokens)")
    ax.set_ylabel(r"$\frac{1}{d/2}\sum_j |S_j(m)|$ (dimensionless)")
    ax.set_title(f"RoPE long-range decay bound, d = {int(data['d'])}")
    ax.legend()
    _source(fig, "https://kexue.fm/archives/8265 (the decay curve), https://kexue.fm/archives/9675 (bases)")
    return fig


def plot_rope_scaling(data):
    """The per-dimension interpolation factor of PI, the NTK variants, YaRN, Llama 3 and LongRoPE (9675, 9948).

    Returns the matplotlib Figure.
    """
    fig, ax = _figure(1, 8.4, 3.6)
    styles = ["-", "-", "--", "--", "--", "-", ":", "-.", "-"]
    for (_, label, _), ratio, ls in zip(ROPE_SCALING_METHODS, data["ratio"], styles):
        ax.plot(data["index"], ratio, ls, label=label)
    k = float(data["factor"])
    i36 = 36
    paper, hf = data["ratio"][5][i36], data["ratio"][6][i36]
    ax.annotate(f"i = 36: the paper's ramp divides θ by\n{paper / hf:.2f} x what transformers' does\n"
                "(ERRATA.md: 2.30)", xy=(i36, hf), xytext=(46.5, 1.06), fontsize=7,
                arrowprops={"arrowstyle": "->", "lw": 0.6})
    ax.plot([i36, i36], [hf, paper], "k*", ms=6)
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.yaxis.set_major_locator(FixedLocator([1, 1.5, 2, 3, 4, 6, 8]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("pair index i (frequency θ_i = base^(-2i/d) decreases →)")
    ax.set_ylabel("θ_i / θ'_i (interpolation factor)")
    ax.set_title(f"Per-dimension scale of RoPE extensions: d = {int(data['d'])}, base {float(data['base']):g}, "
                 f"k = {k:g},\nL0 = {int(data['original_max_position'])} (1 = unchanged, k = PI)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _source(fig, "https://kexue.fm/archives/9675, https://kexue.fm/archives/9706, "
                 "https://kexue.fm/archives/9948 (YaRN ramps), Llama 3 and LongRoPE as in transformers")
    return fig


def plot_rope_rerope(data):
    """ReRoPE and Leaky ReRoPE position maps: the relative position each scheme uses (9708).

    Returns the matplotlib Figure.
    """
    plt = _plt()
    fig, (ax, ax1, ax2) = plt.subplots(1, 3, figsize=(8.4, 3.0), layout="constrained",
                                       gridspec_kw={"width_ratios": [1.5, 1, 1]})
    w, k = float(data["window"]), float(data["factor"])
    for row, label in zip(data["rows"], ("RoPE", f"ReRoPE (w = {w:g})", f"Leaky ReRoPE (w = {w:g}, k = {k:g})")):
        ax.plot(data["delta"], row, label=label)
    ax.axvline(w, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("i - j (tokens)")
    ax.set_ylabel("position used in the rotation (tokens)")
    ax.set_title(f"position maps, query at the end (L = {int(data['L'])})")
    ax.legend(loc="upper left", fontsize=6.5)
    for axis, mat, title in ((ax1, data["small"][0], "ReRoPE"), (ax2, data["small"][1], "Leaky ReRoPE")):
        im = axis.imshow(np.tril(mat), cmap="viridis")
        axis.grid(False)
        axis.set_xlabel("key j")
        axis.set_ylabel("query i")
        axis.set_title(f"{title}, w = {float(data['small_window']):g}"
                       + (f", k = {float(data['small_factor']):g}" if title.startswith("Leaky") else ""))
        fig.colorbar(im, ax=axis, shrink=0.8, label="position (tokens)")
    _source(fig, "https://kexue.fm/archives/9708 (causal part; above the diagonal is masked)")
    return fig


def plot_attention_entropy(data):
    """Attention entropy against length with and without log-n scaling, at two logit scales (8823, 9034).

    Returns the matplotlib Figure.
    """
    fig, ax = _figure(1, 7.2, 3.2)
    n = data["lengths"]
    ax.plot(n, np.log(n), "k:", lw=0.8, label="log n (uniform attention)")
    for tag, color in (("c1", "C0"), ("c4", "C3")):
        c = tag[1:]
        ax.plot(n, data[f"plain_{tag}"], "o-", color=color, ms=3, label=f"logits c q·k/√d, c = {c}")
        ax.plot(n, data[f"logn_{tag}"], "s--", color=color, ms=3, label=f"logits c log_512(n) q·k/√d, c = {c}")
    ax.axvline(float(data["base"]), color="0.5", lw=0.6, ls=":")
    ax.text(float(data["base"]) * 1.05, 0.3, "n = 512: both scales equal (the article's calibration)", fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("sequence length n (keys)")
    ax.set_ylabel("mean attention entropy (nats)")
    ax.set_title("Entropy-invariant attention: entropy vs length (q, k ~ N(0, I), d = 64)")
    ax.legend(ncol=2, loc="upper left")
    _source(fig, "https://kexue.fm/archives/8823, https://kexue.fm/archives/9034")
    return fig


def plot_jl_h_dim(data):
    """The JL dimension h_n/n against n with the article's table points (8711).

    Returns the matplotlib Figure.
    """
    fig, (ax, ax2) = _figure(2, 7.6, 3.2)
    ax.plot(data["n"], data["h_bessel"] / data["n"], label="h_n / n (Bessel closed form)")
    ax.axhline(float(data["slope_exact"]), color="k", ls=":", lw=0.8,
               label=r"limit $-\frac{1}{2}\log\varphi = -0.2406$")
    ax.plot(data["table_n"], data["table_quadrature"] / data["table_n"], "o", mfc="none", ms=7,
            label="h_dim (quadrature)")
    ax.plot(data["table_n"], data["table_article"] / data["table_n"], "k*", ms=6, label="article's table")
    ax.set_xlabel("embedding dimension n")
    ax.set_ylabel("h_n / n (nats per dimension)")
    ax.set_title("word-vector entropy integral per dimension")
    ax.legend()
    ax2.plot(data["N"], data["min_dim"], label="8.33 log N")
    ax2.plot(data["article_N"], data["article_min_dim"], "k*", ms=7, label="article: 52, 96, 128")
    ax2.set_xscale("log")
    ax2.set_xlabel("number of vectors N")
    ax2.set_ylabel("minimum dimension n")
    ax2.set_title("entropy bound n > 8.33 log N")
    ax2.legend()
    _source(fig, "https://kexue.fm/archives/7695 (table of h_n), https://kexue.fm/archives/8711 (n > 8.33 log N)")
    return fig


def plot_nope_readback(data):
    """NoPE: the position read back from the output variance, with the fitted slope (10347).

    Returns the matplotlib Figure.
    """
    fig, (ax, ax2) = _figure(2, 7.6, 3.2)
    n = data["positions"]
    ax.loglog(n, data["ms"], ".", ms=2, label="Monte-Carlo MS(y_n)")
    ax.loglog(n, data["expected"], "k-", lw=0.8, label="σ²/n (article)")
    ax.set_xlabel("position n (tokens)")
    ax.set_ylabel("mean square of y_n (σ² = 1)")
    ax.set_title(f"fitted log-log slope {float(data['slope']):.4f} (article: -1)")
    ax.legend()
    ax2.loglog(n, data["recovered"], ".", ms=2, label="position read back from MS")
    ax2.loglog(n, n, "k-", lw=0.8, label="exact")
    ax2.set_xlabel("true position n")
    ax2.set_ylabel("recovered position")
    ax2.set_title("causal NoPE: position from variance")
    ax2.legend()
    _source(fig, "https://kexue.fm/archives/10347 (uniform causal attention, d = 256, 64 trials, seed 0)")
    return fig


def plot_legs_reconstruction(data):
    """LegS online reconstruction of a test signal at several N, with LegT's window (10114).

    Returns the matplotlib Figure.
    """
    fig, ax = _figure(1, 7.2, 3.4)
    ax.plot(data["t"], data["u"], color="k", lw=2.4, alpha=0.3, label="signal u(t)")
    for N, rec in zip(data["Ns"], data["legs"]):
        ax.plot(data["t"], rec, lw=0.9, label=f"LegS, N = {int(N)}")
    ax.plot(data["legt_t"], data["legt"], ":", color="C3", lw=1.6, zorder=5,
            label=f"LegT, N = {int(data['legt_N'])}, window {int(data['window'])}")
    ax.axvspan(data["legt_t"][0], data["legt_t"][-1] + 0.5, color="C3", alpha=0.07)
    ax.set_xlabel("time t (samples); memory read at t = 1000")
    ax.set_ylabel("u (arbitrary units)")
    ax.set_title("HiPPO memory: LegS remembers all history (blurring with small N), LegT only its window")
    ax.set_ylim(top=3.6)
    ax.legend(ncol=3, loc="upper left")
    _source(fig, "https://kexue.fm/archives/10114, https://kexue.fm/archives/10137 (Su's bilinear LegS recurrence)")
    return fig


def plot_s4_kernel_routes(data):
    """The S4 kernel computed by each route, overlaid, and their differences on a log scale (10162, 10180).

    Returns the matplotlib Figure.
    """
    fig, (ax, ax2) = _figure(2, 7.6, 3.2)
    labels = {"naive": "naive C Ā^j B̄", "generating": "generating function",
              "dplr_cauchy": "DPLR / Cauchy", "scan": "recurrence (impulse)", "diagonal": "diagonal (eig of A)",
              "rtf": "RTF"}
    styles = ["-", "--", ":", (0, (5, 1, 1, 1)), "-.", (0, (1, 3))]
    for i, (name, K, ls) in enumerate(zip(S4_ROUTES, data["K"], styles)):
        ax.plot(data["j"], K, ls=ls, lw=1.4, color=f"C{i}", label=labels[name])
    ax.set_xlim(0, 60)
    ax.set_xlabel("lag j (steps)")
    ax.set_ylabel("kernel K_j (first 60 of 256 lags)")
    ax.set_title(f"S4 kernel, HiPPO-LegS N = {int(data['N'])}, Δ = {float(data['dt']):g}")
    ax.legend()
    for i, (name, diff) in enumerate(zip(S4_ROUTES, data["diff"])):
        if i:
            ax2.semilogy(data["j"], np.maximum(diff, 1e-18), ".", ms=1.6, color=f"C{i}", label=labels[name])
    ax2.set_ylim(1e-18, 1)
    ax2.set_xlabel("lag j (steps)")
    ax2.set_ylabel("|K_j - K_j(naive)| (zeros at 1e-18)")
    ax2.set_title(f"differences; cond(eigvecs of A) = {float(data['eig_cond']):.1e}")
    ax2.legend(markerscale=4)
    _source(fig, "https://kexue.fm/archives/10162, https://kexue.fm/archives/10180 (bilinear discretisation)")
    return fig


def plot_nplr_spectra(data):
    """The eigenvalues of the NPLR forms of the HiPPO matrices.

    Returns the matplotlib Figure.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(8.0, 3.2), layout="constrained", sharey=True)
    for ax, m, marker, color in zip(axes, ("legs", "legt", "lagt", "fout"), "o^sx", ("C0", "C1", "C2", "C3")):
        re, im = data[f"{m}_re"], data[f"{m}_im"]
        ax.plot(re, im, marker, ms=3.5, mfc="none", color=color)
        ax.set_yscale("symlog", linthresh=1)
        lo, hi = re.min(), re.max()
        pad = max(0.25, 0.1 * (hi - lo))
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_title(f"{m}: Re Λ = {round(float(np.mean(re)), 12) + 0.0:g}")
        ax.set_xlabel("Re Λ (1/time)")
    axes[0].set_ylabel("Im Λ (1/time, symlog)")
    fig.suptitle("Spectra of the normal parts of the NPLR forms (N = 64; fout 65)", fontsize=9)
    _source(fig, "https://kexue.fm/archives/10162 (A = V(diag Λ - PP*)V*; legs: Re Λ = -1/2 exactly)")
    return fig


def plot_muon_scalar_map(data):
    """The scalar map of every Newton-Schulz preset and Polar Express, and singular values before/after.

    Returns the matplotlib Figure.
    """
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.4, 4.4), layout="constrained",
                                  gridspec_kw={"width_ratios": [1.6, 1]})
    ax.axhspan(0.7, 1.2, color="0.88", lw=0, label="0.7-1.2: band quoted for Keller's")
    colors = plt.get_cmap("tab20").colors
    x = data["x"]
    for i, (label, g, T) in enumerate(zip(MUON_LABELS, data["maps"], data["steps"])):
        ax.plot(x[1:], g[1:], lw=0.9, color=colors[2 * (i % 10) + i // 10], ls="-" if i < 10 else "--",
                label=f"{label} (T={int(T)})")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_xlabel("x = σ / ||M||_F (log scale; g(0) = 0)")
    ax.set_ylabel("g(x) after T steps")
    ax.set_title("Newton-Schulz scalar maps")
    ax.legend(fontsize=6, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    r = np.arange(1, data["sv_before"].size + 1)
    ax2.plot(r, data["sv_before"], label="before: σ / ||M||_F")
    ax2.plot(r, data["sv_keller"], label="after Keller (5 steps)")
    ax2.plot(r, data["sv_polar_express5"], label="after Polar Express (5 steps)")
    ax2.set_xlabel("singular value rank")
    ax2.set_ylabel("singular value")
    ax2.set_title("256 x 128 Gaussian matrix (seed 0)")
    ax2.legend(fontsize=6.5)
    _source(fig, "https://kexue.fm/archives/10592, https://kexue.fm/archives/10922, "
                 "https://kexue.fm/archives/10996, https://kexue.fm/archives/11416")
    return fig


def plot_lr_vs_batch(data):
    """Optimal learning rate against batch size for SGD and sign updates, closed forms with Monte-Carlo points (10542).

    Returns the matplotlib Figure.
    """
    fig, ax = _figure(1, 8.6, 3.4)
    B = data["B"]
    ax.plot(B, data["sgd"], "C0", label="SGD: closed form")
    ax.errorbar(data["mc_B"], data["sgd_mc"], yerr=3 * data["sgd_mc_stderr"], fmt="o", color="C0", ms=3,
                capsize=2, label="SGD: noisy-quadratic Monte-Carlo (±3 s.e.)")
    ax.plot(B, data["sign"], "C3", label="SignSGD (Adam model): erf formula")
    ax.plot(B, data["sign_mean_field"], "C3:", label="SignSGD: mean-field")
    ax.errorbar(data["mc_B"], data["sign_mc"], yerr=3 * data["sign_mc_stderr"], fmt="s", color="C3", ms=3,
                capsize=2, label="SignSGD: Monte-Carlo (±3 s.e.)")
    ax.plot([data["surge_b_noise"]], [data["surge_eta_max"]], "k*", ms=8, label="surge peak (mean-field)")
    ax.axhline(float(data["surge_eta_inf"]), color="C3", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("batch size B (examples)")
    ax.set_ylabel("optimal learning rate η*")
    ax.set_title("Optimal learning rate vs batch size:\nSGD saturates, SignSGD surges then falls")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _source(fig, "https://kexue.fm/archives/10542 (n = 16, σ = 4|g|, 20000 samples per point, seeded)")
    return fig


def plot_tied_init_loss(data):
    """Initial loss of the tied-embedding variants against vocabulary size, dimension and sigma (9698).

    Returns the matplotlib Figure.
    """
    from ..embedding import VARIANTS

    plt = _plt()
    fig, (ax, ax3, ax2) = plt.subplots(1, 3, figsize=(9.6, 3.4), layout="constrained")
    n = data["n"]
    ax.plot(n, np.log(n), "k:", lw=0.8, label="log n (uniform)")
    ax.plot(n, data["su_tied"], "k--", lw=0.8, label=r"Su: $\log(e^{d\sigma}+n-1)$")
    styles = ("-", "-", "--", ":")
    for i, (var, curve) in enumerate(zip(VARIANTS, data["expected"])):
        ax.plot(n, curve, color=f"C{i}", ls=styles[i], label=f"{var}")
        ok = np.isfinite(data["mc"][i])
        ax.errorbar(data["mc_n"][ok], data["mc"][i][ok], yerr=3 * data["mc_stderr"][i][ok], fmt="o",
                    color=f"C{i}", ms=3, capsize=2)
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size n")
    ax.set_ylabel("initial loss (nats)")
    ax.set_title(f"d = {int(data['d'])}, σ = 1/√d\n(points: simulation ±3 s.e.)")
    ax.legend(ncol=2, loc="center right", fontsize=6)
    nb = int(data["n_sweep"])
    dims = data["dims"]
    ax3.axhline(np.log(nb), color="k", ls=":", lw=0.8, label="log n")
    ax3.plot(dims, np.sqrt(dims), "k--", lw=0.8, label="dσ = √d")
    for i, (var, curve) in enumerate(zip(VARIANTS, data["expected_vs_d"])):
        ax3.plot(dims, curve, color=f"C{i}", ls=styles[i], label=var)
    ax3.set_xscale("log", base=2)
    ax3.set_xlabel("dimension d")
    ax3.set_ylabel("initial loss (nats)")
    ax3.set_title(f"n = {nb}, σ = 1/√d")
    ax3.legend(fontsize=6)
    s = data["sigmas"]
    ax2.plot(s, data["tied_vs_sigma"], "C0", label="tied: expectation")
    ax2.plot(s, data["su_vs_sigma"], "k--", lw=0.8, label=r"Su: $\log(e^{d\sigma}+n-1)$")
    ax2.axhline(np.log(nb), color="k", ls=":", lw=0.8, label="log n")
    ax2.axvline(float(data["sigma_uniform"]), color="C3", lw=0.8,
                label=f"σ = log n / d = {float(data['sigma_uniform']):.4f}")
    ax2.axvline(float(data["sigma"]), color="0.5", lw=0.8, ls="-.", label="σ = 1/√d")
    ax2.set_xscale("log")
    ax2.set_xlabel("initial standard deviation σ")
    ax2.set_ylabel("initial loss (nats)")
    ax2.set_title(f"tied, n = {nb}, d = {int(data['d'])}")
    ax2.legend(fontsize=6.5)
    _source(fig, "https://kexue.fm/archives/9698 (tied output embeddings at initialisation)")
    return fig

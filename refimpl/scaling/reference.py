r"""The definition of refimpl.scaling's Monte-Carlo: the noisy quadratic model, one sample at a time.

Model (https://kexue.fm/archives/10542, made literal): the loss is
:math:`L(\theta)=\frac12\theta^\top H\theta`, the gradient at the current
point is :math:`g=H\theta`, and a batch of ``B`` samples gives

.. math::

    \tilde g_B = g + L z,\qquad z\sim\mathcal N(0, I),\qquad LL^\top=\Sigma/B,

the exact Gaussian law of the mean of ``B`` per-sample gradients with
covariance :math:`\Sigma`. The update is :math:`u=\tilde g_B` (SGD) or
:math:`u=\mathrm{sign}(\tilde g_B)` (SignSGD). Since the loss is quadratic,

.. math::

    L(\theta-\eta u)-L(\theta) = -\eta\,a + \tfrac12\eta^2\,b,\qquad
    a=u^\top g,\quad b=u^\top Hu,

exactly, so every statistic of the Monte-Carlo is a function of the sampled
pairs :math:`(a_s, b_s)`. This module draws them with NumPy's own Generator,
one sample per loop iteration. The numba kernels (``_fast.py``) and the
array-namespace code for CuPy (``_xp.py``) compute the same sums faster, with
other random streams; the closed forms of :mod:`refimpl.scaling.batch` are
short and are their own definitions.
"""
from __future__ import annotations

import numpy as np

__all__ = ["nqm_samples", "noise_factor"]


def noise_factor(Sigma):
    """A square ``L`` with ``L L^T = Sigma`` (``Sigma`` symmetric PSD, possibly singular).

    A diagonal ``Sigma`` gives ``diag(sqrt(Sigma_ii))``; otherwise, from the eigendecomposition :math:`\\Sigma=V\\,\\mathrm{diag}(w)V^\\top`:
    :math:`L=V\\,\\mathrm{diag}(\\sqrt{\\max(w,0)})` (rounding may leave tiny negative ``w``).
    """
    d = np.diag(Sigma)
    if not np.any(Sigma - np.diag(d)):                  # diagonal: coordinate i gets sqrt(Sigma_ii) z_i
        return np.diag(np.sqrt(d))
    w, V = np.linalg.eigh(Sigma)
    return V * np.sqrt(np.clip(w, 0.0, None))


def nqm_samples(g, H, L, update, n_samples, rng):
    r"""The pairs :math:`a_s=u_s^\top g`, :math:`b_s=u_s^\top Hu_s` of ``n_samples`` noisy updates.

    ``g`` (n,), ``H`` (n, n) dense, ``L`` (n, n) with :math:`LL^\top=\Sigma/B`,
    ``update`` ``"sgd"`` or ``"sign"``, ``rng`` a ``numpy.random.Generator``
    (sample ``s`` uses the ``s``-th block of ``n`` normals it draws).
    Returns ``(a, b)``, two arrays of shape (n_samples,).
    """
    n = g.shape[0]
    a = np.empty(n_samples)
    b = np.empty(n_samples)
    for s in range(n_samples):
        z = rng.standard_normal(n)
        x = g + L @ z                                   # the batch gradient  g~_B ~ N(g, Sigma/B)
        u = x if update == "sgd" else np.sign(x)        # the update direction
        a[s] = u @ g                                    # L(theta - eta u) - L(theta)
        b[s] = u @ H @ u                                #   = -eta a + eta^2 b / 2
    return a, b

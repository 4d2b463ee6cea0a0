"""Bad input is refused by name: ragged lists, a dimension the quadrature cannot resolve."""
import pytest

from refimpl.jl import entropy_min_dim, h_dim, inner_product_tail_bound, min_dim, norm_tail_bound


@pytest.mark.parametrize("call, name", [
    (lambda: min_dim(1000, [[0.1, 0.2], [0.3]]), "eps"),
    (lambda: min_dim([[10, 20], [30]], 0.1), "N"),
    (lambda: entropy_min_dim([[10, 20], [30]]), "N"),
    (lambda: norm_tail_bound([64, 128], [[0.1, 0.2], [0.3]]), "eps"),
    (lambda: inner_product_tail_bound([[64, 128], [1]], 0.1), "n"),
])
def test_ragged_lists_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=f"'{name}'"):
        call()


def test_h_dim_refuses_an_unresolved_peak():
    with pytest.raises(ValueError, match="'n'.*'grid'"):
        h_dim(2**64)
    with pytest.raises(ValueError, match="'n'"):
        h_dim(1000, grid=101)           # (100 / (10 pi))**2 = 10.1 < 1000


def test_h_dim_near_its_limit_follows_laplace():
    # h_n / n -> -log(phi) / 2 = -0.2406059125...; at n = 4e9 the correction is O(log n / n)
    assert h_dim(4 * 10**9) / (4 * 10**9) == pytest.approx(-0.2406059125, rel=1e-8, abs=0.0)

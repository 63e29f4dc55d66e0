"""The formatters of ``critmin.numbers``: a value that rounds to zero is shown without a sign."""

from __future__ import annotations

import math

from critmin.numbers import pct, pp, usd


def test_rounding_noise_is_no_change_not_minus_zero() -> None:
    # e.g. a tariff revenue change of -1.7e-8 USD: the difference of two sums of millions
    assert usd(-1.7e-8) == "0" and usd(-1.7e-8, signed=True) == "0"
    assert usd(-0.5) == "0" and usd(0.49, signed=True) == "0"
    assert (
        pct(-1e-12) == "+0.00%" and pct(-0.004) == "+0.00%" and pct(-0.004, digits=3) == "-0.004%"
    )


def test_the_formats_are_unchanged_elsewhere() -> None:
    assert usd(-0.6) == "-1" and usd(0.6, signed=True) == "+1"
    assert (
        usd(-1234.0) == "-1 k"
        and usd(2.5e6, signed=True) == "+2.5 m"
        and usd(-3.21e9) == "-3.21 bn"
    )
    assert pct(8.544) == "+8.54%" and pct(-0.006) == "-0.01%"
    assert usd(math.nan) == "-" and pct(None) == "-"


def test_a_percentage_point_difference_is_never_minus_zero() -> None:
    # the compare page's differences: -0.04 pp was "-0.0 pp", -0.001 pp "-0.00 pp"
    assert pp(-0.04, 1) == "-0.04 pp" and pp(-0.001) == "-0.001 pp"
    assert pp(-3.7, 1) == "-3.7 pp" and pp(8.623) == "+8.62 pp"
    assert pp(0.0) == "0.00 pp" and pp(-1e-12, 1) == "0.0 pp"
    assert pp(None) == "-" and pp(math.inf) == "-"


def test_a_large_percent_change_is_thousands_separated() -> None:
    """``+1,014.05%``, as the warnings beside it write ``1,929%`` (it read ``1014.05%``)."""
    from critmin.numbers import pct

    assert pct(1014.054) == "+1,014.05%"
    assert pct(-12345.6, 1) == "-12,345.6%"
    assert pct(8.544) == "+8.54%"

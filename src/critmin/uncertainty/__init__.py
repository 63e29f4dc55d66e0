"""Monte Carlo uncertainty: elasticity ranges, probabilistic disruptions, shortfall and stockpiles.

``run_uncertainty(scenario, draws=N, seed=S)`` samples every elasticity of every product from
its cited range, every licence grant share from its ``grant_share_range``
(:mod:`critmin.uncertainty.licensing`) and every declared ``[[disruption]]`` event, solves
every draw in compiled code warm-started from the point solution
(:mod:`critmin.uncertainty.tasks`) on threads of this process or on a Dask cluster
(:mod:`critmin.uncertainty.engines`), and
summarises each key output by its median and 5-95% band, the probability that zone supply falls
short of zone demand by more than a threshold, and the stockpile that covers the shortfall with
probability ``q`` (:mod:`critmin.stockpile`). The method is documented in docs/uncertainty.md.

Sampling (one draw ``d``, one product with point values ``sigma``, ``eta``, ``eps_i``)
------------------------------------------------------------------------------------------
The elasticities table (``critmin data show elasticities``) gives, per product class and
parameter, a cited ``(low, default, high)`` and a distribution (triangular: mode = default).
Ranges are *relative* so that a scenario's own value keeps the cited uncertainty:

* ``r ~ Triangular(low/default, 1, high/default)`` (or ``Uniform``), one ``r`` per draw and
  parameter, independent across parameters and products;
* ``eta_d = eta * r_eta``; ``eps_i,d = eps_i * r_eps`` (one common factor for every country, so
  per-country overrides keep their pattern);
* ``sigma_d = 1 + (sigma - 1) * r_sigma`` with ``r_sigma ~ Tri((low-1)/(default-1), 1,
  (high-1)/(default-1))``: the range scales ``sigma - 1``, so every draw keeps ``sigma > 1``.

With the class defaults as point values these are exactly the cited triangular distributions.
A zero-width range (``r = 1``) reproduces the point value bit for bit. The scenario's
``[uncertainty]`` table may replace a relative range (``ranges``) or fix a parameter (``fixed``).

Disruptions: every ``[[disruption]]`` (type ``export_ban``) lists exporters (default the watch
countries); in each draw each of them independently bans its exports of the products to the
importers (default the members) with the annual probability ``p``, on top of the scenario's
own policies. The same exporter's event hits all products of that disruption together.

Export controls and shocks: destination quotas, licensing, leaky bans and ``[[shock]]`` tables
apply in every draw. Shocks are part of the compiled system; a product with quota groups
(quotas by destination, licences, leak routes) is solved draw by draw by the model's own
solver, as ``critmin simulate`` solves it (:mod:`critmin.uncertainty.solutions`).

Reproducibility (same seed, same numbers, whatever the chunking or the cluster)
------------------------------------------------------------------------------
Random numbers are *counter-based*: each stream is ``PCG64(SeedSequence(seed, spawn_key=key))``
with ``key = (0, product id)`` for a product's elasticities (3 uniforms per draw) and
``key = (1, disruption index, exporter code)`` for a ban event (1 uniform per draw) and
``key = (2, policy index)`` for a licensing measure's grant share (1 uniform per draw). Draw
``d`` reads the uniforms at positions ``[d * width, (d + 1) * width)`` of its stream, reached by
``PCG64.advance`` (one 64-bit output per float64 uniform). A chunk of draws therefore gets the
same numbers whichever process solves it and however the draws are cut into chunks; results
are concatenated in draw order. The solver's output does not depend on the other elements of
its chunk (each draw starts from its pattern's point solution, never from another draw), and
every chunk runs with one BLAS thread (OpenBLAS with several threads rounds differently in the
last bits), so local and cluster runs agree bit for bit (tested).

Shortfall (per draw)
--------------------
Zone consumption is the model's own demand quantity: the Armington composite ``D_j = P_j^-eta``
of each member ``j`` (1 at the baseline, 0 for a member left without any supplier), summed with
baseline expenditure weights, ``Q = sum_{j in zone} E_j D_j`` (USD at baseline prices). (A sum
of flows at baseline prices, ``sum V_ij x_ij``, would not do: after a ban, CES substitution
makes the remaining suppliers' volume *rise* by ``(1 - s)^((1 - eta)/(1 - sigma)) > 1`` while
the composite falls.) ``Q_ref`` = the same draw's ``Q`` without its disruption events (``reference =
"no_disruption"``, the default: only what the events remove, never the demand reduction the
scenario's own policies, such as a floor, cause by design; draws without an event have no
shortfall) or the baseline ``Q0 = sum E_j`` (``"baseline"``: everything that lowers zone
consumption, the policies' deliberate effect included)::

    shortfall   = max(Q_ref - Q, 0) / Q_ref            (share of demand)
    shortfall_t = max(Q_ref - Q, 0) / Q0 * T0          (tonnes per year)

with ``T0 = sum_{j in zone} sum_i V_ij / p0_ij`` the zone's baseline tonnes (p0 = BACI pair
unit values), i.e. lost demand converted at the zone's average baseline unit value
``uv0 = Q0 / T0``.
"""

from __future__ import annotations

from critmin.uncertainty.engines import single_thread_blas
from critmin.uncertainty.results import (
    FAN_LEVELS,
    OUTPUTS,
    ProductUncertainty,
    UncertaintyResult,
    fan_data,
)
from critmin.uncertainty.run import DEFAULT_CHUNK_SIZE, run_uncertainty
from critmin.uncertainty.sampling import (
    PARAMETERS,
    ParameterRange,
    draw_uniforms,
    multiplier,
    triangular_ppf,
)
from critmin.uncertainty.tasks import ProductTask, solve_chunk

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FAN_LEVELS",
    "OUTPUTS",
    "PARAMETERS",
    "ParameterRange",
    "ProductTask",
    "ProductUncertainty",
    "UncertaintyResult",
    "draw_uniforms",
    "fan_data",
    "multiplier",
    "run_uncertainty",
    "single_thread_blas",
    "solve_chunk",
    "triangular_ppf",
]

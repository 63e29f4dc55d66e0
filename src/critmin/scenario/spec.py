"""Scenario files: parsing, validation and resolution of groups and products.

A scenario is a TOML file (or the equivalent dict / JSON) in the contract of DESIGN.md::

    name = "Zone core"
    [zone]
    members = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]
    watch = ["CHN"]
    [defaults]
    sigma = 5.0
    [[product]]
    id = "lithium_carbonate"
    [[policy]]
    type = "price_floor"
    mechanism = "variable_levy"
    price_usd_per_t = 15000

Every problem is reported as one :class:`critmin.errors.ScenarioError` naming the field
(``policy[1].rate``) and what was expected.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from critmin.errors import CritminError, ScenarioError, ScenarioErrors
from critmin.scenario.coalition_settings import CoalitionSettings
from critmin.scenario.messages import check_depth, scenario_errors
from critmin.scenario.paths_settings import PathsSettings
from critmin.scenario.raw_checks import boolean_for_number, control_character, text_for_number

Selector = Literal["all", "members", "non-members"] | Annotated[list[str], Field(min_length=1)]
Elasticity = float | dict[str, float]

MAX_PRICE_USD_PER_T = 1e10
"""Upper bound of a price in a scenario (USD 10 billion per tonne): above any traded mineral
(rhodium at its 2021 peak was about USD 0.96 billion per tonne); larger values are typos."""

MAX_DEPTH = 16
"""Deepest nesting a scenario document may have (the contract needs 4 levels)."""


MAX_LABEL_CHARS = 200
"""The longest label of an instrument or shock (shown in tables and charts)."""
MAX_DESCRIPTION_CHARS = 10_000
"""The longest scenario description (the bundled examples' longest: 826 characters)."""


class _Strict(BaseModel):
    # allow_inf_nan=False: nan and inf (legal TOML and JSON-ish input) are rejected as
    # "must be a finite number" before any range check can give a misleading message
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


MAX_ELASTICITY = {"sigma": 100.0, "demand_elasticity": 20.0, "supply_elasticity": 20.0}
"""Upper bounds of the elasticities: far above published estimates (GTAP's largest Armington
elasticities are about 34; commodity demand and supply elasticities are below 5), and where the
model's prices start to leave floating point."""


def _check_elasticity(value: Elasticity | None, name: str, minimum: float, strict: bool) -> None:
    """Elasticities are a number or {default = x, ISO3 = y}; sigma must exceed 1; each is at
    most :data:`MAX_ELASTICITY`."""
    if value is None:
        return
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if not isinstance(v, int | float) or math.isnan(v) or math.isinf(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
        if v > MAX_ELASTICITY[name]:
            raise ValueError(
                f"{name} must be at most {MAX_ELASTICITY[name]:g}, got {v:g} (published "
                "estimates are far lower)"
            )
        if (strict and v <= minimum) or (not strict and v < minimum):
            rel = "greater than" if strict else "at least"
            why = (
                (
                    " (Armington substitution between suppliers must exceed 1, else a ban is "
                    "undefined)"
                )
                if name == "sigma"
                else ""
            )
            raise ValueError(f"{name} must be {rel} {minimum:g}, got {v:g}{why}")


class OriginRule(_Strict):
    """``[zone.origin]``: which member output of a chain's processed stages counts as zone
    origin (docs/model.md, "Linked chains"): ``member_inputs`` (in proportion to its member
    inputs) or ``rvc`` (member value share of the output, traced through the chain, at least
    ``threshold``)."""

    rule: Literal["member_inputs", "rvc"]
    threshold: float | None = Field(default=None, ge=0, le=1)  # a share of value: 0.4 = 40%

    @model_validator(mode="after")
    def _threshold_of_rvc(self) -> OriginRule:
        if self.rule == "member_inputs" and self.threshold is not None:
            raise ScenarioError(
                "zone.origin.threshold",
                "a threshold applies to rule = 'rvc' (member value content); 'member_inputs' "
                "counts output in proportion to member inputs, without one",
            )
        return self

    @property
    def rvc_threshold(self) -> float:
        """The threshold of ``rvc`` (0 when not given)."""
        return 0.0 if self.threshold is None else self.threshold


class Zone(_Strict):
    members: list[str] = Field(min_length=1)
    watch: list[str] = Field(default_factory=list)
    origin: OriginRule | None = None


class Defaults(_Strict):
    sigma: float | None = None
    demand_elasticity: float | None = None
    supply_elasticity: Elasticity | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Defaults:
        _check_elasticity(self.sigma, "sigma", 1.0, strict=True)
        _check_elasticity(self.demand_elasticity, "demand_elasticity", 0.0, strict=False)
        _check_elasticity(self.supply_elasticity, "supply_elasticity", 0.0, strict=False)
        return self


class ProductSpec(_Strict):
    id: str = Field(min_length=1)
    flows: str | None = Field(default=None, min_length=1)  # "" named no file: ignored in silence
    baseline_price_usd_per_t: float | None = Field(default=None, gt=0, le=MAX_PRICE_USD_PER_T)
    sigma: float | None = None
    demand_elasticity: float | None = None
    supply_elasticity: Elasticity | None = None

    @model_validator(mode="after")
    def _ranges(self) -> ProductSpec:
        _check_elasticity(self.sigma, "sigma", 1.0, strict=True)
        _check_elasticity(self.demand_elasticity, "demand_elasticity", 0.0, strict=False)
        _check_elasticity(self.supply_elasticity, "supply_elasticity", 0.0, strict=False)
        return self


class _PolicyBase(_Strict):
    products: Annotated[list[str], Field(min_length=1)] | None = None
    stage: str | None = None  # a chain's stage (mine, refine, product) or a stage's product id
    label: str | None = Field(default=None, max_length=MAX_LABEL_CHARS)


class TariffPolicy(_PolicyBase):
    type: Literal["tariff"]
    exporters: Selector = "non-members"
    importers: Selector = "members"
    rate: float = Field(ge=0, le=10)


class PriceFloorPolicy(_PolicyBase):
    type: Literal["price_floor"]
    mechanism: Literal["variable_levy", "producer_subsidy"] = "variable_levy"
    price_usd_per_t: float = Field(gt=0, le=MAX_PRICE_USD_PER_T)


class _LeakyPolicy(_PolicyBase):
    """A restriction that may leak through third countries (docs/controls.md, "Leakage and
    transshipment"): ``leak_via`` the countries the restricted goods may be routed through,
    ``leak_cost`` the extra ad valorem cost of the detour, ``leak_share`` the cap on the routed
    goods as a share of the vias' own baseline exports to the destination."""

    leak_via: Selector | None = None
    leak_cost: float = Field(default=0.0, ge=0, le=10)
    leak_share: float = Field(default=0.0, ge=0, le=10)

    @model_validator(mode="after")
    def _leak_needs_via(self) -> _LeakyPolicy:
        # a value at its default (0) says nothing: a scenario dumped with its defaults (the
        # report's scenario_dict, sweeps) must load again
        given = sorted(
            name
            for name in {"leak_cost", "leak_share"} & self.model_fields_set
            if getattr(self, name) != 0.0
        )
        if self.leak_via is None and given:
            raise ValueError(
                f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} leak_via "
                "(the third countries the restricted goods may be routed through)"
            )
        return self


class ExportBanPolicy(_LeakyPolicy):
    """A ban; with ``leak_via`` it leaks through third countries (docs/controls.md)."""

    type: Literal["export_ban"]
    exporters: Selector
    importers: Selector = "members"


class ExportQuotaPolicy(_LeakyPolicy):
    """A cap on exports; with ``leak_via`` the sales above the cap may leak through third
    countries (docs/controls.md)."""

    type: Literal["export_quota"]
    exporters: Selector
    importers: Selector = "all"  # "all": one cap on total exports (as before)
    share_of_baseline: float = Field(ge=0, le=100)  # 1 = baseline exports; above: no bite


GrantShare = float | dict[str, float]
GrantShareRange = tuple[float, float] | dict[str, tuple[float, float]]


def _check_grant_range(point: float, rng: tuple[float, float], where: str) -> None:
    """A grant-share range ``[low, high]`` is within 0-1 and holds its point value."""
    low, high = rng
    for v in (low, high):
        if not 0.0 <= v <= 1.0:
            raise ValueError(
                f"grant_share_range{where} must hold shares of baseline exports between 0 and "
                f"1, got {v!r}"
            )
    if not low <= point <= high:
        raise ValueError(
            f"grant_share_range{where} must be [low, high] with low <= grant_share <= high, "
            f"got [{low:g}, {high:g}] around grant_share {point:g}"
        )


class ExportLicensingPolicy(_LeakyPolicy):
    """Export licensing: in an annual model, a quota at ``grant_share`` x baseline exports to
    the destinations (by destination: ``{default = 0.6, USA = 0}``). ``grant_share_range`` is
    its uncertainty range, sampled by ``critmin uncertainty`` (triangular, mode at the grant
    share): ``[low, high]`` for one share, or by destination key (``{default = [0.4, 0.8]}``,
    keys of ``grant_share``; a key left out stays fixed). docs/controls.md."""

    type: Literal["export_licensing"]
    exporters: Selector
    importers: Selector = "all"
    grant_share: GrantShare
    grant_share_range: GrantShareRange | None = None

    @field_validator("grant_share_range", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        items = value.values() if isinstance(value, dict) else [value]
        for item in items:
            if isinstance(item, list | tuple) and len(item) != 2:
                raise ValueError(f"must be [low, high] (two shares), got {list(item)!r}")
        return value

    @model_validator(mode="after")
    def _shares(self) -> ExportLicensingPolicy:
        shares = self.grant_share if isinstance(self.grant_share, dict) else {"": self.grant_share}
        if not shares:  # an empty table licenses nothing and would change nothing, silently
            raise ValueError(
                "grant_share is an empty table: give a share (0.6) or shares by destination "
                "({default = 0.6, USA = 0})"
            )
        for v in shares.values():
            if not (isinstance(v, int | float) and 0.0 <= v <= 1.0):
                raise ValueError(
                    f"grant_share must be a share of baseline exports between 0 and 1, got {v!r}"
                )
        rng = self.grant_share_range
        if rng is None:
            return self
        if isinstance(rng, dict) != isinstance(self.grant_share, dict):
            raise ValueError(
                "grant_share_range must have the form of grant_share: [low, high] for one "
                "share, or a table with the keys of a grant_share table (e.g. "
                "{default = [0.4, 0.8]})"
            )
        ranges = rng if isinstance(rng, dict) else {"": rng}
        for key, r in ranges.items():
            if key not in shares:
                raise ValueError(
                    f"grant_share_range.{key}: grant_share has no key {key!r} (keys: "
                    f"{', '.join(sorted(shares))})"
                )
            _check_grant_range(float(shares[key]), r, f".{key}" if key else "")
        return self


Policy = Annotated[
    TariffPolicy | PriceFloorPolicy | ExportBanPolicy | ExportQuotaPolicy | ExportLicensingPolicy,
    Field(discriminator="type"),
]


class MarketShock(_Strict):
    """``[[shock]]``: a market shock beside the policies, so that an event can be decomposed
    into policy and market cycle (docs/controls.md): ``demand`` (``change`` = +0.1: 10% more
    demand at every price by the ``countries``, e.g. precautionary buying) or ``supply``
    (``change`` = -0.1: 10% less output at every price by the ``countries``, e.g. an outage
    or a world output cycle)."""

    type: Literal["demand", "supply"]
    countries: Selector = "all"
    change: float = Field(gt=-1, le=10)
    products: Annotated[list[str], Field(min_length=1)] | None = None
    label: str | None = Field(default=None, max_length=MAX_LABEL_CHARS)


class TariffSettings(_Strict):
    """``[tariffs]``: baseline tariffs the market is calibrated with (docs/controls.md):
    ``baseline = "curated"`` (the bundled, cited rows), a user's ``file`` and an intra-zone
    ``preferential_cut`` (0.5 halves the members' baseline tariffs on each other)."""

    baseline: Literal["none", "curated"] = "none"
    file: str | None = Field(default=None, min_length=1)  # "" named no file: ignored in silence
    preferential_cut: float = Field(default=0.0, ge=0, le=1)


class Disruption(_Strict):
    """A probabilistic event for uncertainty analysis: the exporters ban exports of the products
    to the importers with this annual probability (each exporter independently)."""

    type: Literal["export_ban"] = "export_ban"
    exporters: Selector = Field(default_factory=lambda: ["watch"])
    importers: Selector = "members"
    products: Annotated[list[str], Field(min_length=1)] | None = None
    probability: float = Field(ge=0, le=1)
    stage: str | None = None  # a chain's stage or a stage's product id (critmin paths)
    year: int | None = Field(default=None, ge=1900, le=2100)  # critmin paths: only this year


UncertainParameter = Literal["sigma", "demand_elasticity", "supply_elasticity"]
FixableParameter = Literal["sigma", "demand_elasticity", "supply_elasticity", "grant_share"]


class UncertaintySettings(_Strict):
    """Optional ``[uncertainty]`` table: defaults for ``critmin uncertainty`` (docs/uncertainty.md).

    ``ranges`` replaces the cited relative range of a parameter, ``[low, high]`` as multiples of
    the point value (for sigma, of ``sigma - 1``); ``fixed`` holds parameters at their point value
    (``"grant_share"``: every licence at its ``grant_share``, its range ignored).
    """

    draws: int = Field(default=1000, ge=1, le=100_000_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    shortfall_threshold: float = Field(default=0.05, ge=0, lt=1)
    coverage: float = Field(default=0.95, gt=0, le=1)
    duration_days: float = Field(default=365.0, gt=0, le=3650)
    # shortfall counts only what disruptions remove (issue 16); "baseline" also counts the
    # demand reduction the scenario's own policies (a floor) cause by design
    reference: Literal["baseline", "no_disruption"] = "no_disruption"
    fixed: list[FixableParameter] = Field(default_factory=list)
    ranges: dict[UncertainParameter, tuple[float, float]] = Field(default_factory=dict)

    @field_validator("ranges")
    @classmethod
    def _relative_ranges(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        for name, (low, high) in value.items():
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= 1 <= high <= 100):
                raise ValueError(
                    f"ranges.{name} must be [low, high] multiples of the point value with "
                    f"0 < low <= 1 <= high <= 100, got [{low:g}, {high:g}]"
                )
        return value


class ChainStepSpec(_Strict):
    """A step of a user's own chain: a ``[[product]]`` id and its link to the step before."""

    product: str = Field(min_length=1)
    stage: str | None = None  # default: mine for the first step, refine after it
    # t of input per t of output: up to a million (gold ore runs at about 1e5 t per t)
    input_coefficient: float | None = Field(default=None, gt=0, le=1e6)
    input_cost_share: float | None = Field(default=None, ge=0, lt=1)
    byproduct: bool = False


class ChainShock(_Strict):
    """A shock to a chain stage's output: a host's output (``output_change``, -0.2 = -20%) or a
    by-product's recovery (``recovery_multiplier``, or ``recovery_share``: the new recovery in
    t per t of host output, against the catalog's), for the countries selected."""

    product: str = Field(min_length=1)
    countries: Selector = "all"
    output_change: float = Field(default=0.0, gt=-1, le=100)
    recovery_multiplier: float = Field(default=1.0, gt=0, le=1000)
    # t of by-product per t of host output: below 1 (the catalog's are about 1e-5)
    recovery_share: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_change(self) -> ChainShock:
        """Not both ways of changing a recovery. A shock that changes nothing (every value at
        its neutral one, e.g. a sweep's point at ``recovery_multiplier = 1``) is legal: the
        run warns that it has no effect (:func:`critmin.scenario.chains.resolve_chains`)."""
        given = [
            name
            for name, value, neutral in (
                ("recovery_multiplier", self.recovery_multiplier, 1.0),
                ("recovery_share", self.recovery_share, None),
            )
            if value != neutral
        ]
        if "recovery_multiplier" in given and "recovery_share" in given:
            raise ValueError("give recovery_multiplier or recovery_share, not both")
        return self


class ChainSpec(_Strict):
    """``[[chain]]``: every stage of a catalog chain (``id``), or a user's own chain of
    ``[[product]]`` markets (``step``)."""

    id: str = Field(min_length=1)
    step: list[ChainStepSpec] = Field(default_factory=list)
    shock: list[ChainShock] = Field(default_factory=list)

    @model_validator(mode="after")
    def _steps_link(self) -> ChainSpec:
        products = [s.product for s in self.step]
        twice = sorted({p for p in products if products.count(p) > 1})
        if twice:
            raise ValueError(
                f"a chain's steps are distinct markets; repeated: {', '.join(twice)} (a market "
                "cannot be its own input)"
            )
        if self.step:
            first = self.step[0]
            linked = [
                name
                for name, value in (
                    ("input_coefficient", first.input_coefficient),
                    ("input_cost_share", first.input_cost_share),
                )
                if value is not None
            ] + (["byproduct"] if first.byproduct else [])
            if linked:
                raise ValueError(
                    f"the first step ({first.product}) has no step before it: "
                    f"{', '.join(linked)} link a step to the one before"
                )
        for step in self.step:
            if step.input_coefficient is not None and step.input_cost_share is not None:
                raise ValueError(
                    f"step {step.product}: give input_coefficient or input_cost_share, not both"
                )
        return self


MAX_ENTRIES = 200
"""At most this many ``[[policy]]``, ``[[disruption]]`` or ``[[shock]]`` tables (each is
resolved for every product: 500 tariffs took 2 s, 5,000 over 90 s)."""


class Scenario(_Strict):
    """A scenario as validated: the schema of a scenario file (``examples/`` holds commented
    ones; docs/errors.md lists what is checked).

    Build one with :meth:`from_file` (a ``.toml`` or ``.json`` path) or :meth:`from_dict`
    (relative flows paths then resolve against ``base_dir``); each raises a
    :class:`~critmin.errors.ScenarioError` naming the field that fails. ``critmin.simulate``
    and the other analyses take it, a path or a dict alike. Frozen: edit a copy
    (``model_dump()``, change, ``from_dict``)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    year: int = Field(default=2024, ge=1900, le=2100)
    zone: Zone
    defaults: Defaults = Field(default_factory=Defaults)
    product: list[ProductSpec] = Field(default_factory=list)
    chain: list[ChainSpec] = Field(default_factory=list)
    # bounded lists: a scenario is written by people (the examples hold a handful); a
    # generated file with thousands of entries would run for minutes before anyone saw why
    policy: list[Policy] = Field(default_factory=list, max_length=MAX_ENTRIES)
    disruption: list[Disruption] = Field(default_factory=list, max_length=MAX_ENTRIES)
    tariffs: TariffSettings | None = None
    shock: list[MarketShock] = Field(default_factory=list, max_length=MAX_ENTRIES)
    uncertainty: UncertaintySettings | None = None
    coalition: CoalitionSettings | None = None
    paths: PathsSettings | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        """A name of spaces names nothing (and a saved scenario refuses it): refused here too,
        so the API's simulate and save agree."""
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("product", "chain")
    @classmethod
    def _unique_ids(
        cls, value: list[ProductSpec] | list[ChainSpec], info: ValidationInfo
    ) -> list[ProductSpec] | list[ChainSpec]:
        ids = [entry.id for entry in value]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"{info.field_name} ids must be unique; repeated: {', '.join(dup)}")
        return value

    @model_validator(mode="after")
    def _policy_products_exist(self) -> Scenario:
        if not self.product and not self.chain:
            raise ScenarioError("product", "at least 1 product or chain is required")
        if self.chain:  # chain products are known after the catalog is read (scenario.chains)
            return self
        for kind, entries in (("policy", self.policy), ("disruption", self.disruption)):
            for k, entry in enumerate(entries):
                if entry.stage is not None:
                    raise ScenarioError(
                        f"{kind}[{k}].stage",
                        "stage selects a stage of a chain and this scenario has no chain; "
                        "select single markets with products = [...]",
                    )
        ids = {p.id for p in self.product}
        for k, shock in enumerate(self.shock):
            for pid in shock.products or []:
                if pid not in ids:
                    raise ScenarioError(
                        f"shock[{k}].products",
                        f"product {pid!r} is not one of the scenario's products ({', '.join(sorted(ids))})",
                    )
        for k, pol in enumerate([*self.policy, *self.disruption]):
            for pid in pol.products or []:
                if pid not in ids:
                    kind = "policy" if k < len(self.policy) else "disruption"
                    idx = k if k < len(self.policy) else k - len(self.policy)
                    raise ScenarioError(
                        f"{kind}[{idx}].products",
                        f"product {pid!r} is not one of the scenario's products ({', '.join(sorted(ids))})",
                    )
        return self

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path | None = None) -> Scenario:
        """Validate a dict; turn pydantic errors into one ScenarioError naming the field (a
        :class:`~critmin.errors.ScenarioErrors` when several fields are refused: it reads as
        the one that best explains the others, and lists every field)."""
        if not isinstance(data, dict):
            raise ScenarioError("<root>", f"expected a table/object, got {type(data).__name__}")
        check_depth(data, MAX_DEPTH)
        if (where := boolean_for_number(cls, data)) is not None:
            raise ScenarioError(where, "expected a number or text, not true or false")
        if (found := text_for_number(cls, data)) is not None:
            where, text = found
            raise ScenarioError(
                where, f"expected a number, got text {text!r} (write the number without quotes)"
            )
        if (where := control_character(data)) is not None:
            raise ScenarioError(where, "holds a control character (such as an escape code)")
        try:
            scenario = cls.model_validate(data)
        except ScenarioError:
            raise
        except ValidationError as exc:
            refused = scenario_errors(exc, cls)
            raise (refused[0] if len(refused) == 1 else ScenarioErrors(refused)) from None
        if base_dir is not None:
            object.__setattr__(scenario, "_base_dir", Path(base_dir))
        return scenario

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read a scenario file (UTF-8; a byte-order mark is accepted): TOML, or JSON for a
        ``.json`` file (:func:`scenario_json`: the scenario's tables as the web API takes them,
        or a saved scenario as ``GET /api/scenarios/<id>`` returns it)."""
        path = Path(path)
        try:  # exists() raises for a name longer than the file system allows
            exists, folder = path.exists(), path.is_dir()
        except OSError as err:
            raise CritminError(f"scenario file {path}: {err.strerror or err}") from None
        if not exists:
            from critmin.util import why_missing

            raise CritminError(f"scenario file {path} {why_missing(path)}")
        if folder:
            raise CritminError(f"scenario file {path} is a folder: give a .toml or .json file")
        try:
            with path.open("rb") as f:  # at most one byte past the limit: /dev/zero never ends
                raw = f.read(MAX_SCENARIO_BYTES + 1)
            if len(raw) > MAX_SCENARIO_BYTES:
                raise CritminError(
                    f"scenario file {path} is larger than {MAX_SCENARIO_BYTES // 2**20} MiB: a "
                    "scenario is a few kilobytes of TOML (flows go in their own CSV files)"
                )
            text = raw.decode("utf-8-sig")  # -sig: a leading BOM is dropped
        except UnicodeDecodeError as err:
            raise CritminError(
                f"scenario file {path} is not UTF-8 text (byte {err.start}): save it as UTF-8"
            ) from None
        except OSError as err:
            raise CritminError(f"cannot read scenario file {path}: {err.strerror or err}") from None
        if path.suffix.lower() == ".json":
            return cls.from_dict(scenario_json(text, path), base_dir=path.parent)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise CritminError(f"scenario file {path} is not valid TOML: {err}") from None
        except RecursionError:
            raise CritminError(
                f"scenario file {path} is nested too deeply to read (thousands of levels of "
                "arrays or tables): a scenario needs at most 4"
            ) from None
        except ValueError as err:  # an integer of more than 4300 digits
            problem = (
                f"holds an integer of more than {sys.get_int_max_str_digits()} digits"
                if "digits" in str(err)
                else f"holds a value critmin cannot read ({err})"
            )
            raise CritminError(f"scenario file {path} {problem}") from None
        return cls.from_dict(data, base_dir=path.parent)

    @property
    def base_dir(self) -> Path:
        return getattr(self, "_base_dir", Path.cwd())

    def input_files(self) -> dict[str, Path]:
        """The files this scenario reads besides itself, by what they are (``"the file of
        scenario field 'product[0].flows'"``): a user's flows and tariff files, relative
        paths taken from the scenario's folder. A command's outputs must not replace them
        (:func:`critmin.util.check_outputs_apart`)."""
        named = [(f"product[{k}].flows", p.flows) for k, p in enumerate(self.product)]
        named.append(("tariffs.file", self.tariffs.file if self.tariffs else None))
        files = {}
        for field, name in named:
            if name:
                path = Path(name)
                files[f"the file of scenario field '{field}'"] = (
                    path if path.is_absolute() else self.base_dir / path
                )
        return files

    @property
    def policy_numbers(self) -> list[int]:
        """Each policy's number in the scenario as written (``policy[k]`` in messages): its
        position, unless this scenario is a part of another (:meth:`keeping_policies`)."""
        numbers: list[int] | None = getattr(self, "_policy_numbers", None)
        return list(range(len(self.policy))) if numbers is None else numbers

    def keeping_policies(
        self, keep: Sequence[int], policies: Sequence[Any] | None = None, **update: Any
    ) -> Scenario:
        """A copy with the policies at positions ``keep`` alone (or ``policies``, one for each
        of them, in their place) and ``update``'s other fields, each policy still named by its
        number in the scenario as written: a chain stage or the single markets of a scenario
        with chains take some of its policies, and a warning about its ``policy[1]`` must not
        call it ``policy[0]``."""
        numbers = self.policy_numbers
        kept = [self.policy[k] for k in keep] if policies is None else list(policies)
        if len(kept) != len(keep):
            raise ValueError("keeping_policies: one policy for each position kept")
        out = self.model_copy(update={**update, "policy": kept})
        object.__setattr__(out, "_base_dir", self.base_dir)
        object.__setattr__(out, "_policy_numbers", [numbers[k] for k in keep])
        return out


MAX_SCENARIO_BYTES = 8 * 2**20
"""The largest scenario file read (8 MiB): the bundled examples are 1-5 kB."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a scenario can hold")


class RepeatedKeyError(ValueError):
    """A JSON object that gives one key twice (the key is ``args[0]``)."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict (``json.loads(..., object_pairs_hook=unique_keys)``), a
    key given twice refused with :class:`RepeatedKeyError`: JSON parsers keep the last value of
    a repeated key and drop the other in silence (a second ``"policy": []`` removed every
    instrument), TOML refuses it; a scenario refuses it in a file and over HTTP."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RepeatedKeyError(key)
        out[key] = value
    return out


_JSON_KINDS = {
    list: "a JSON list",
    str: "a JSON string",
    int: "a JSON number",
    float: "a JSON number",
    bool: "JSON true or false",
}
"""What a JSON value that is not an object is, in JSON's words (``null`` has its own)."""


def scenario_json(text: str, path: Path) -> dict[str, Any]:
    """The scenario in a ``.json`` file's ``text``: an object of the scenario's tables (the
    body ``POST /api/simulate`` takes), or a saved scenario from the dashboard (``GET
    /api/scenarios/<id>``: its tables under ``"scenario"``), so that a scenario saved on the
    desk runs again with ``critmin simulate saved.json``. NaN and Infinity are refused, as
    the API refuses them."""
    try:
        data = json.loads(text, parse_constant=_no_constant, object_pairs_hook=unique_keys)
    except RecursionError:
        raise CritminError(
            f"scenario file {path} is nested too deeply to read: a scenario needs at most 4 levels"
        ) from None
    except RepeatedKeyError as err:
        raise CritminError(
            f"scenario file {path} gives the key {err.args[0]!r} twice in one object: keep one"
        ) from None
    except ValueError as err:  # JSONDecodeError included
        raise CritminError(f"scenario file {path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        kind = "JSON null" if data is None else _JSON_KINDS.get(type(data), "a JSON value")
        raise CritminError(
            f"scenario file {path} holds {kind}, not an object of the scenario's tables"
        )
    saved = data.get("scenario")
    if isinstance(saved, dict) and "zone" not in data:  # a saved scenario of the dashboard
        return saved
    return data


def load_scenario(source: str | Path | dict[str, Any] | Scenario) -> Scenario:
    """A Scenario from a path, a dict or a Scenario."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return Scenario.from_dict(source)
    if not isinstance(source, str | Path):
        raise ScenarioError(
            "<root>",
            f"expected a scenario file's path, a dict or a Scenario, got {type(source).__name__}",
        )
    return Scenario.from_file(source)

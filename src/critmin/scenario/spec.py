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

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin.errors import CritminError, ScenarioError
from critmin.scenario.coalition_settings import CoalitionSettings

Selector = Literal["all", "members", "non-members"] | list[str]
Elasticity = float | dict[str, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_elasticity(value: Elasticity | None, name: str, minimum: float, strict: bool) -> None:
    """Elasticities are a number or {default = x, ISO3 = y}; sigma must exceed 1."""
    if value is None:
        return
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if not isinstance(v, int | float) or math.isnan(v) or math.isinf(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
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


class Zone(_Strict):
    members: list[str] = Field(min_length=1)
    watch: list[str] = Field(default_factory=list)


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
    flows: str | None = None
    baseline_price_usd_per_t: float | None = Field(default=None, gt=0)
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
    products: list[str] | None = None
    label: str | None = None


class TariffPolicy(_PolicyBase):
    type: Literal["tariff"]
    exporters: Selector = "non-members"
    importers: Selector = "members"
    rate: float = Field(ge=0, le=10)


class PriceFloorPolicy(_PolicyBase):
    type: Literal["price_floor"]
    mechanism: Literal["variable_levy", "producer_subsidy"] = "variable_levy"
    price_usd_per_t: float = Field(gt=0)


class ExportBanPolicy(_PolicyBase):
    type: Literal["export_ban"]
    exporters: Selector
    importers: Selector = "members"


class ExportQuotaPolicy(_PolicyBase):
    type: Literal["export_quota"]
    exporters: Selector
    share_of_baseline: float = Field(ge=0)


Policy = Annotated[
    TariffPolicy | PriceFloorPolicy | ExportBanPolicy | ExportQuotaPolicy,
    Field(discriminator="type"),
]


class Disruption(_Strict):
    """A probabilistic event for uncertainty analysis: the exporters ban exports of the products
    to the importers with this annual probability (each exporter independently)."""

    type: Literal["export_ban"] = "export_ban"
    exporters: Selector = Field(default_factory=lambda: ["watch"])
    importers: Selector = "members"
    products: list[str] | None = None
    probability: float = Field(ge=0, le=1)


UncertainParameter = Literal["sigma", "demand_elasticity", "supply_elasticity"]


class UncertaintySettings(_Strict):
    """Optional ``[uncertainty]`` table: defaults for ``critmin uncertainty`` (docs/uncertainty.md).

    ``ranges`` replaces the cited relative range of a parameter, ``[low, high]`` as multiples of
    the point value (for sigma, of ``sigma - 1``); ``fixed`` holds parameters at their point value.
    """

    draws: int = Field(default=1000, ge=1, le=100_000_000)
    seed: int = Field(default=0, ge=0)
    shortfall_threshold: float = Field(default=0.05, ge=0, lt=1)
    coverage: float = Field(default=0.95, gt=0, le=1)
    duration_days: float = Field(default=365.0, gt=0, le=3650)
    reference: Literal["baseline", "no_disruption"] = "baseline"
    fixed: list[UncertainParameter] = Field(default_factory=list)
    ranges: dict[UncertainParameter, tuple[float, float]] = Field(default_factory=dict)

    @field_validator("ranges")
    @classmethod
    def _relative_ranges(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        for name, (low, high) in value.items():
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= 1 <= high):
                raise ValueError(
                    f"ranges.{name} must be [low, high] multiples of the point value with "
                    f"0 < low <= 1 <= high, got [{low:g}, {high:g}]"
                )
        return value


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    year: int = 2024
    zone: Zone
    defaults: Defaults = Field(default_factory=Defaults)
    product: list[ProductSpec] = Field(min_length=1)
    policy: list[Policy] = Field(default_factory=list)
    disruption: list[Disruption] = Field(default_factory=list)
    uncertainty: UncertaintySettings | None = None
    coalition: CoalitionSettings | None = None

    @field_validator("product")
    @classmethod
    def _unique_products(cls, value: list[ProductSpec]) -> list[ProductSpec]:
        ids = [p.id for p in value]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"product ids must be unique; repeated: {', '.join(dup)}")
        return value

    @model_validator(mode="after")
    def _policy_products_exist(self) -> Scenario:
        ids = {p.id for p in self.product}
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
        """Validate a dict; turn pydantic errors into one ScenarioError naming the field."""
        if not isinstance(data, dict):
            raise ScenarioError("<root>", f"expected a table/object, got {type(data).__name__}")
        try:
            scenario = cls.model_validate(data)
        except ScenarioError:
            raise
        except ValidationError as exc:
            raise _first_error(exc) from None
        if base_dir is not None:
            object.__setattr__(scenario, "_base_dir", Path(base_dir))
        return scenario

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        path = Path(path)
        if not path.exists():
            raise CritminError(f"scenario file {path} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as err:
            raise CritminError(f"cannot read scenario file {path}: {err}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise CritminError(f"scenario file {path} is not valid TOML: {err}") from None
        return cls.from_dict(data, base_dir=path.parent)

    @property
    def base_dir(self) -> Path:
        return getattr(self, "_base_dir", Path.cwd())


def _first_error(exc: ValidationError) -> ScenarioError:
    """The first pydantic error as a ScenarioError with a dotted field path."""
    e = exc.errors(include_url=False)[0]
    parts: list[str] = []
    for loc in e["loc"]:
        if isinstance(loc, int):
            parts[-1:] = [f"{parts[-1]}[{loc}]"] if parts else [f"[{loc}]"]
        elif loc in {"tariff", "price_floor", "export_ban", "export_quota", "function-after"} or (
            isinstance(loc, str) and loc.startswith(("list[", "literal[", "float", "dict["))
        ):
            continue
        else:
            parts.append(str(loc))
    field = ".".join(parts) or "<root>"
    msg = str(e["msg"])
    if e["type"] == "missing":
        msg = "is required"
    elif e["type"] == "extra_forbidden":
        msg = "is not a known field (check the spelling against the scenario contract)"
    elif e["type"] == "union_tag_invalid":
        msg = "type must be one of tariff, price_floor, export_ban, export_quota"
    elif e["type"] == "union_tag_not_found":
        msg = "each policy needs a type: tariff, price_floor, export_ban or export_quota"
    msg = msg.removeprefix("Value error, ")
    return ScenarioError(field, msg)


def load_scenario(source: str | Path | dict[str, Any] | Scenario) -> Scenario:
    """A Scenario from a path, a dict or a Scenario."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return Scenario.from_dict(source)
    return Scenario.from_file(source)

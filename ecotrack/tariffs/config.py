"""Configuration of the electricity tariff (the ``tariff:`` section) and building tariffs from it.

```yaml
tariff:
  type: tou            # flat | tou | awattar
  currency: EUR
  feed_in: 0.08        # per kWh exported
  timezone: Europe/Berlin
  price: 0.32          # the default price
  windows:
    - {start: "22:00", end: "06:00", days: [mon-fri], price: 0.22}
```
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.tariffs.base import Tariff
from ecotrack.tariffs.static import FlatTariff, TimeOfUseTariff
from ecotrack.weekly.tz import check_timezone, zone
from ecotrack.weekly.windows import WeeklyWindow, parse_days, parse_hhmm

__all__ = [
    "AwattarTariffConfig",
    "FlatTariffConfig",
    "PriceWindowConfig",
    "TariffConfig",
    "TouTariffConfig",
    "build_tariff",
]

_PRICE = Field(ge=-10, le=10, description="Price per kWh in the tariff's currency.")


class _TariffBase(ConfigModel):
    currency: str = Field("EUR", min_length=1, max_length=8, description="Currency of the prices.")
    feed_in: float = Field(0.0, ge=-10, le=10, description="Price paid per exported kWh.")
    timezone: str | None = Field(
        None, description="Zone of the time windows; null: the machine's local zone."
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return check_timezone(v)


class FlatTariffConfig(_TariffBase):
    """One price at all times."""

    type: Literal["flat"] = Field(description="Tariff type.")
    price: float = _PRICE


class PriceWindowConfig(ConfigModel):
    """A price for a weekly time window (crossing midnight when ``end`` <= ``start``)."""

    start: str = Field(description="Local start time HH:MM.")
    end: str = Field(description="Local end time HH:MM (<= start: the next day).")
    days: list[str] = Field(default_factory=lambda: ["all"], description="Weekdays: mon..sun, mon-fri, all.")
    price: float = _PRICE

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        parse_days(v)
        return v


class TouTariffConfig(_TariffBase):
    """Time-of-use: the first matching window's price, else ``price``."""

    type: Literal["tou"] = Field(description="Tariff type.")
    price: float = _PRICE
    windows: list[PriceWindowConfig] = Field(default_factory=list, description="Windows, first match wins.")


class AwattarTariffConfig(_TariffBase):
    """aWATTar hourly exchange prices plus a markup, with VAT."""

    type: Literal["awattar"] = Field(description="Tariff type.")
    country: Literal["de", "at"] = Field("de", description="Which aWATTar API to ask.")
    url: str | None = Field(None, description="Base URL of the API (tests, proxies); null: the public one.")
    markup: float = Field(0.0, ge=-1, le=10, description="Added to the exchange price per kWh before VAT.")
    vat_pct: float = Field(
        0.0, ge=0, le=100, description="VAT in percent applied to exchange price + markup."
    )
    fallback_price: float = Field(0.30, ge=-10, le=10, description="Price assumed where none is known yet.")


TariffConfig = Annotated[
    FlatTariffConfig | TouTariffConfig | AwattarTariffConfig, Field(discriminator="type")
]


def build_tariff(cfg: FlatTariffConfig | TouTariffConfig | AwattarTariffConfig) -> Tariff:
    """The tariff ``cfg`` describes (an aWATTar one still needs its ``run`` as a service to fetch prices).

    The aWATTar module (and with it httpx) is imported only when that tariff is configured.
    """
    if isinstance(cfg, FlatTariffConfig):
        return FlatTariff(cfg.price, feed_in=cfg.feed_in, currency=cfg.currency)
    if isinstance(cfg, TouTariffConfig):
        tz = zone(cfg.timezone)
        windows = tuple(
            (WeeklyWindow(parse_hhmm(w.start), parse_hhmm(w.end), parse_days(w.days), tz), w.price)
            for w in cfg.windows
        )
        return TimeOfUseTariff(cfg.price, windows, feed_in=cfg.feed_in, currency=cfg.currency)
    from ecotrack.tariffs.awattar import AwattarTariff

    return AwattarTariff(
        country=cfg.country,
        base_url=cfg.url,
        markup=cfg.markup,
        vat_pct=cfg.vat_pct,
        feed_in=cfg.feed_in,
        fallback_price=cfg.fallback_price,
        currency=cfg.currency,
    )

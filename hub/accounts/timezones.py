"""Time zones a person may choose, and the zone of a request (docs/INTERFACE.md)."""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA zone name the server's zone database (tzdata) knows."""
    return frozenset(zoneinfo.available_timezones())


def is_known_zone(value: object) -> bool:
    return isinstance(value, str) and value in known_zones()


@functools.cache
def zone_choices() -> list[tuple[str, str]]:
    """``(name, label)`` for a select, by region: "Europe/Paris" -> "Europe / Paris"."""
    names = sorted(z for z in known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [("UTC", "UTC"), *((z, z.replace("/", " / ").replace("_", " ")) for z in names)]

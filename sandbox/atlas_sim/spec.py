"""What a fleet is asked to be: parsed and validated from the command line, compared on re-runs."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields

from .identity import DEFAULT_OS, NODE_OS
from .proc import SimError

PROFILES = ("910b3-64g", "910b4-32g", "a3")
DEFAULT_PROFILE = "910b3-64g"
MAX_NODES = 64
# Gateways take the management addresses .201-.209, above every node's.
MAX_GATEWAYS = 9
GATEWAY_PREFIX = "atlas-gw-"


def per_node(option: str, raw: str | None, default: str, count: int, allowed: tuple[str, ...]) -> list[str]:
    """A list option takes one value for every node or exactly one value per node."""
    values = [v.strip() for v in (raw or default).split(",")]
    unknown = sorted({v for v in values if v not in allowed})
    if unknown:
        raise SimError(f"--{option}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}")
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise SimError(f"--{option} has {len(values)} values for {count} nodes: give one value, or exactly {count}")
    return values


@dataclass(frozen=True)
class FleetSpec:
    nodes: int
    os: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    image: bool = True
    weights: bool = True
    gateways: int = 0

    @classmethod
    def parse(cls, nodes: int, os_list: str | None, profile_list: str | None = None,
              load_seconds: float | None = None, image: bool = True, weights: bool = True,
              gateways: int = 0) -> FleetSpec:
        if not 1 <= nodes <= MAX_NODES:
            raise SimError(f"--nodes must be between 1 and {MAX_NODES}, got {nodes}")
        if not 0 <= gateways <= MAX_GATEWAYS:
            raise SimError(f"--gateways must be between 0 and {MAX_GATEWAYS}, got {gateways}")
        if load_seconds is not None and load_seconds < 0:
            raise SimError(f"--load-seconds must be >= 0, got {load_seconds}")
        return cls(
            nodes=nodes,
            os=per_node("os", os_list, DEFAULT_OS, nodes, NODE_OS),
            profiles=per_node("profile", profile_list, DEFAULT_PROFILE, nodes, PROFILES),
            load_seconds=load_seconds, image=image, weights=weights, gateways=gateways,
        )

    def names(self) -> list[str]:
        return [f"atlas-{i:02d}" for i in range(1, self.nodes + 1)]

    def gateway_names(self) -> list[str]:
        return [f"{GATEWAY_PREFIX}{i:02d}" for i in range(1, self.gateways + 1)]

    def to_dict(self) -> dict:
        return asdict(self)

    def differences(self, other: dict) -> list[str]:
        # A record written before a field existed ran with that field's default.
        other = {**{f.name: f.default for f in fields(self) if f.default is not MISSING}, **other}
        mine = self.to_dict()
        return [f"{key}: running {other.get(key)!r}, asked {value!r}" for key, value in mine.items()
                if other.get(key) != value]


def is_gateway(name: str) -> bool:
    return name.startswith(GATEWAY_PREFIX)

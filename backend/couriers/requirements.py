"""Which documents each vehicle kind needs. Configurable: `LASTMILE_COURIER_REQUIRED_DOCUMENTS`
holds a JSON object `{vehicle_kind: [document_kind, …]}` whose entries replace the defaults."""

from collections.abc import Mapping

import msgspec

from backend.couriers.models import DOCUMENT_KINDS, VEHICLE_KINDS

# Everyone proves who they are and that they may work; motor vehicles need a licence and
# insurance; a van (and a car) also its registration. A bike needs no licence.
DEFAULT_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "bike": ("id_card", "right_to_work"),
    "cargo_bike": ("id_card", "right_to_work"),
    "scooter": ("id_card", "right_to_work", "drivers_license", "insurance"),
    "car": ("id_card", "right_to_work", "drivers_license", "insurance", "vehicle_registration"),
    "van": ("id_card", "right_to_work", "drivers_license", "insurance", "vehicle_registration"),
}


def load_requirements(raw: str | None) -> Mapping[str, tuple[str, ...]]:
    """The defaults with the configured entries laid over them; a bad value raises ValueError
    naming what is wrong (checked at start-up)."""
    if not raw:
        return DEFAULT_REQUIREMENTS
    try:
        configured = msgspec.json.decode(raw, type=dict[str, list[str]])
    except msgspec.MsgspecError as exc:
        raise ValueError(f"courier required documents: {exc}") from None
    for kind, documents in configured.items():
        if kind not in VEHICLE_KINDS:
            raise ValueError(f"courier required documents: unknown vehicle kind {kind!r}")
        unknown = sorted(set(documents) - set(DOCUMENT_KINDS))
        if unknown:
            raise ValueError(f"courier required documents: unknown document kinds {unknown}")
    return DEFAULT_REQUIREMENTS | {k: tuple(dict.fromkeys(v)) for k, v in configured.items()}

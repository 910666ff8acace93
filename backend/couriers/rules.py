"""The courier domain's configuration, taken from the settings once per request."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from backend.config import Settings
from backend.couriers.requirements import load_requirements


@dataclass(frozen=True, slots=True)
class CourierRules:
    requirements: Mapping[str, tuple[str, ...]]
    secret_key: str
    email_code_ttl_seconds: int = 900
    applications_per_hour: int = 10
    document_retention_days: int = 90
    checks_secret: str = ""


@lru_cache(maxsize=8)
def rules_from(settings: Settings) -> CourierRules:
    return CourierRules(
        requirements=load_requirements(settings.courier_required_documents),
        secret_key=settings.secret_key,
        email_code_ttl_seconds=settings.courier_email_code_ttl_seconds,
        applications_per_hour=settings.courier_applications_per_hour,
        document_retention_days=settings.courier_document_retention_days,
        checks_secret=settings.courier_checks_secret,
    )

from datetime import date
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey

FINDING_KINDS = ("finding", "follow_up")


class ReviewFinding(UUIDPrimaryKey, Timestamps, Base):
    """What an after-action review found, or a follow-up it asks for (with an owner and a due
    date), about one resolved incident or one disruption."""

    __tablename__ = "review_findings"
    __table_args__ = (
        CheckConstraint(f"kind IN {FINDING_KINDS}", name="kind"),
        CheckConstraint("(incident_id IS NULL) <> (disruption_id IS NULL)", name="one_subject"),
        Index("ix_review_findings_incident_id", "incident_id"),
        Index("ix_review_findings_disruption_id", "disruption_id"),
    )

    incident_id: Mapped[UUID | None] = mapped_column(ForeignKey("incidents.id"))
    disruption_id: Mapped[UUID | None] = mapped_column(ForeignKey("disruptions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    due: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))

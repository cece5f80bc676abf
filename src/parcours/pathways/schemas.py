"""What enters and leaves the pathways context (JSON API, pages, CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from parcours.pathways.encounter import DischargeMode, EncounterKind
from parcours.pathways.referral import Action, Priority


class AttachmentIn(BaseModel):
    """Metadata of a document joined to a referral (the file itself stays where it is)."""

    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(default="application/pdf", max_length=100)
    size_bytes: int | None = Field(default=None, ge=0)
    description: str | None = Field(default=None, max_length=300)


class ReferralIn(BaseModel):
    person_id: str = Field(min_length=1, max_length=12, description="identifiant régional P…")
    source: str = Field(min_length=1, max_length=40, description="établissement demandeur")
    destination: str | None = Field(
        default=None,
        max_length=40,
        description="établissement destinataire (par défaut : celui que désigne la carte)",
    )
    specialty: str = Field(min_length=1, max_length=40)
    priority: Priority = Priority.ROUTINE
    reason: str = Field(min_length=1, max_length=2000, description="motif de la référence")
    clinical_summary: str | None = Field(default=None, max_length=10000)
    referring_professional: str | None = Field(default=None, max_length=160)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    bed_request: bool = False
    bed_service: str | None = Field(default=None, max_length=40)
    send: bool = Field(default=True, description="envoyer tout de suite (sinon : brouillon)")


class TransitionIn(BaseModel):
    action: Action
    reason: str | None = Field(default=None, max_length=2000)
    destination: str | None = Field(default=None, max_length=40)
    appointment_at: datetime | None = None
    immediate: bool = False
    counter_referral: str | None = Field(default=None, max_length=10000)
    expected_version: int | None = Field(default=None, ge=1)


class EventOut(BaseModel):
    version: int
    action: str | None
    label: str
    from_state: str | None
    to_state: str
    at: datetime
    by: str
    side: str
    reason: str | None
    destination: str | None
    appointment_at: datetime | None
    immediate: bool
    related_id: int | None


class PersonRef(BaseModel):
    person_id: str
    display_name: str
    sex: str | None
    birth_date: str | None


class ReferralOut(BaseModel):
    id: int
    person: PersonRef | None
    source: str
    source_name: str
    destination: str
    destination_name: str
    specialty: str
    specialty_name: str
    priority: Priority
    state: str
    state_label: str
    version: int
    referring_professional: str | None
    reason: str | None
    clinical_summary: str | None
    attachments: list[AttachmentIn]
    bed_request: bool
    bed_service: str | None
    map_version: int | None
    designated_destination: str | None
    along_map: bool | None
    parent_id: int | None
    root_id: int | None
    chain: list[str]
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    answer_due_at: datetime | None
    deadline_status: str
    received_at: datetime | None
    answered_at: datetime | None
    appointment_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    closing_reason: str | None
    redirected_to: str | None
    counter_referral: str | None
    last_event_at: datetime | None
    history: list[EventOut] = Field(default_factory=list)
    children: list[int] = Field(default_factory=list)
    available_actions: list[str] = Field(default_factory=list)


class InboxPages(BaseModel):
    """Which page of each of the inbox's three lists (1 = the first)."""

    incoming: int = Field(default=1, ge=1)
    outgoing: int = Field(default=1, ge=1)
    counter_referrals: int = Field(default=1, ge=1)


class InboxOut(BaseModel):
    establishment: str
    establishment_name: str
    incoming: list[ReferralOut]
    outgoing: list[ReferralOut]
    counter_referrals: list[ReferralOut]
    incoming_total: int
    outgoing_total: int
    counter_referrals_total: int
    overdue: int
    page_size: int
    pages: InboxPages


class ProposalOut(BaseModel):
    rank: int
    code: str
    name: str
    care_level: int
    designated: bool
    level_fit: str
    distance_km: float | None
    beds_available: int | None
    median_wait_days: float | None
    flags: list[str]
    reasons: list[str]


class RoutingOut(BaseModel):
    source: str
    specialty: str
    priority: Priority
    map_version: int
    designated: str | None
    designation_reason: str | None
    designation_rule: str | None = None
    #: The designation's qualifiers as codes (see pathway_map.Designation.notes).
    designation_notes: list[tuple[str, str]] = Field(default_factory=list)
    proposals: list[ProposalOut]


class DiagnosisOut(BaseModel):
    code: str
    label: str | None
    known: bool
    rank: int


class EncounterIn(BaseModel):
    person_id: str = Field(min_length=1, max_length=12)
    establishment: str = Field(min_length=1, max_length=40)
    kind: Literal["consultation", "emergency", "admission"]
    specialty: str | None = Field(default=None, max_length=40)
    start_at: datetime | None = Field(default=None, description="par défaut : maintenant")
    end_at: datetime | None = None
    bed_label: str | None = Field(default=None, max_length=40)
    diagnoses: list[str] = Field(default_factory=list, max_length=12)
    referral_id: int | None = None
    overflow: bool = Field(default=False, description="admettre en surnombre si complet")
    note: str | None = Field(default=None, max_length=4000)


class DischargeIn(BaseModel):
    mode: DischargeMode
    at: datetime | None = None
    transfer_to: str | None = Field(default=None, max_length=40)
    diagnoses: list[str] = Field(default_factory=list, max_length=12)
    note: str | None = Field(default=None, max_length=4000)


class EncounterOut(BaseModel):
    id: int
    person_id: str | None
    establishment: str
    establishment_name: str
    kind: EncounterKind
    kind_label: str
    status: str
    specialty: str | None
    specialty_name: str | None
    bed_label: str | None
    start_at: datetime
    end_at: datetime | None
    discharge_mode: str | None
    transfer_to: str | None
    referral_id: int | None
    overflow: bool
    diagnoses: list[DiagnosisOut]
    note: str | None
    created_by: str


class TimelineItem(BaseModel):
    at: datetime
    type: Literal["encounter", "referral", "counter_referral"]
    establishment: str
    establishment_name: str
    title: str
    encounter: EncounterOut | None = None
    referral: ReferralOut | None = None


class TimelineOut(BaseModel):
    person_id: str
    display_name: str
    establishments: list[str]
    items: list[TimelineItem]


class CensusRow(BaseModel):
    establishment: str
    establishment_name: str
    province: str
    care_level: int
    specialty: str
    specialty_name: str
    declared: int
    occupied: int
    free: int
    occupancy: float | None
    level: str


class CensusOut(BaseModel):
    declared: int
    occupied: int
    free: int
    occupancy: float | None
    rows: list[CensusRow]


class MapNode(BaseModel):
    code: str
    name: str
    care_level: int
    province: str
    latitude: float | None
    longitude: float | None
    offers: bool


class MapArrow(BaseModel):
    source: str
    destination: str
    rule: str
    distance_km: float | None


class FlowEdge(BaseModel):
    source: str
    destination: str
    referrals: int
    along_map: int
    outside_map: int


class LevelFlow(BaseModel):
    from_level: int
    to_level: int
    referrals: int


class BypassOut(BaseModel):
    referrals: int
    redirects: int
    unjudged: int
    outside_map: int
    outside_map_rate: float | None
    arrivals: int
    arrivals_without_referral: int
    arrivals_without_referral_emergency: int
    without_referral_rate: float | None


class MapExceptionOut(BaseModel):
    source: str
    specialty: str | None
    destination: str
    note: str


class MapVersionOut(BaseModel):
    number: int
    author: str
    created_at: datetime
    reason: str
    exceptions: list[MapExceptionOut]


class PathwayMapOut(BaseModel):
    specialty: str
    specialty_name: str
    period_start: datetime
    period_end: datetime
    map_version: MapVersionOut
    nodes: list[MapNode]
    designated: list[MapArrow]
    flows: list[FlowEdge]
    levels: list[LevelFlow]
    bypass: BypassOut


class MapExceptionIn(BaseModel):
    source: str = Field(min_length=1, max_length=40)
    specialty: str | None = Field(default=None, max_length=40)
    destination: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=300)


class MapChangeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    add: list[MapExceptionIn] = Field(default_factory=list)
    remove: list[MapExceptionIn] = Field(
        default_factory=list, description="source et spécialité des exceptions à retirer"
    )


class SweepOut(BaseModel):
    expired: int
    ids: list[int]

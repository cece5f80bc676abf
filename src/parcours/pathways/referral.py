"""The referral lifecycle as an explicit state machine, free of any framework.

A referral (FHIR ServiceRequest, its fulfilment a Task) goes from the referring
establishment to the receiving one and comes back as a counter-referral. Every
move is one call to :func:`apply`, which either returns the next snapshot and
the history event that explains it, or raises :class:`TransitionRefused` with a
machine code and a French message. Nothing here reads a clock or a database:
``now`` and the acting side are given, so the rules can be tested exhaustively
and the service stays a thin shell around them.

Optimistic concurrency: every snapshot carries ``version``; each transition
returns ``version + 1``. The service stores the new snapshot with
``UPDATE referral SET …, version = :new WHERE id = :id AND version = :old`` and
treats zero updated rows as the other user having acted first (raise
``TransitionRefused("stale_version", …)``, HTTP 409). A client that shows a
referral may also send the version it saw (``expected_version``) so that a
decision taken on a stale page is refused instead of applied to a state the
user never saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from parcours.access.rules import Permission, Principal
from parcours.errors import Conflict
from parcours.territory.rules import SPECIALTY_CODES, normalise_code

# --- vocabulary --------------------------------------------------------------


class ReferralState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    REDIRECTED = "redirected"
    APPOINTMENT_SCHEDULED = "appointment_scheduled"
    PATIENT_ARRIVED = "patient_arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return _STATE_INFO[self][0]

    @property
    def colour(self) -> str:
        return _STATE_INFO[self][1]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def awaits_answer(self) -> bool:
        """Sent but neither accepted, refused nor redirected: the deadline runs."""
        return self in (ReferralState.SENT, ReferralState.RECEIVED)

    @property
    def fhir_task_status(self) -> str:
        return _STATE_INFO[self][2]

    @property
    def fhir_request_status(self) -> str:
        return _STATE_INFO[self][3]


# label, badge colour, FHIR Task.status, FHIR ServiceRequest.status
_STATE_INFO: dict[ReferralState, tuple[str, str, str, str]] = {
    ReferralState.DRAFT: ("Brouillon", "#757575", "draft", "draft"),
    ReferralState.SENT: ("Envoyée", "#1565c0", "requested", "active"),
    ReferralState.RECEIVED: ("Reçue", "#0277bd", "received", "active"),
    ReferralState.ACCEPTED: ("Acceptée", "#2e7d32", "accepted", "active"),
    ReferralState.REFUSED: ("Refusée", "#c62828", "rejected", "revoked"),
    ReferralState.REDIRECTED: ("Réorientée", "#6a1b9a", "rejected", "revoked"),
    ReferralState.APPOINTMENT_SCHEDULED: ("Rendez-vous fixé", "#00838f", "ready", "active"),
    ReferralState.PATIENT_ARRIVED: ("Patient arrivé", "#ef6c00", "in-progress", "active"),
    ReferralState.COMPLETED: ("Terminée (contre-référence)", "#1b5e20", "completed", "completed"),
    ReferralState.CANCELLED: ("Annulée", "#616161", "cancelled", "revoked"),
    ReferralState.EXPIRED: ("Expirée sans réponse", "#b71c1c", "failed", "revoked"),
}

TERMINAL_STATES = frozenset(
    {
        ReferralState.REFUSED,
        ReferralState.REDIRECTED,
        ReferralState.COMPLETED,
        ReferralState.CANCELLED,
        ReferralState.EXPIRED,
    }
)
ANSWER_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.REFUSED, ReferralState.REDIRECTED})


class Priority(StrEnum):
    URGENT = "urgent"
    PRIORITY = "priority"
    ROUTINE = "routine"

    @property
    def label(self) -> str:
        return {"urgent": "Urgente", "priority": "Prioritaire", "routine": "Ordinaire"}[self]

    @property
    def colour(self) -> str:
        return {"urgent": "#c62828", "priority": "#ef6c00", "routine": "#1565c0"}[self]

    @property
    def rank(self) -> int:
        """Sort key: the most pressing first."""
        return {"urgent": 0, "priority": 1, "routine": 2}[self]

    @property
    def fhir_code(self) -> str:
        # FHIR request-priority: routine < urgent < asap < stat.
        return {"urgent": "asap", "priority": "urgent", "routine": "routine"}[self]


# How long the receiving establishment has to answer (accept, refuse or redirect),
# counted from the moment the referral is SENT (not drafted, not received: the
# patient waits from the moment the letter leaves). Urgent: a patient held at the
# referring site, two hours; priority: within three days; routine: fifteen days,
# the usual target for a specialist consultation. Data, overridable by a setting.
DEFAULT_ANSWER_DEADLINES: Mapping[Priority, timedelta] = MappingProxyType(
    {
        Priority.URGENT: timedelta(hours=2),
        Priority.PRIORITY: timedelta(hours=72),
        Priority.ROUTINE: timedelta(days=15),
    }
)


def deadlines_from_hours(
    urgent: float | None = None, priority: float | None = None, routine: float | None = None
) -> Mapping[Priority, timedelta]:
    """Deadlines with some priorities overridden (hours), e.g. from PARCOURS_* settings."""
    given = {Priority.URGENT: urgent, Priority.PRIORITY: priority, Priority.ROUTINE: routine}
    table = dict(DEFAULT_ANSWER_DEADLINES)
    for p, hours in given.items():
        if hours is not None:
            if hours <= 0:
                raise ValueError(f"deadline for {p} must be positive, got {hours} h")
            table[p] = timedelta(hours=hours)
    return MappingProxyType(table)


def deadline(
    priority: Priority,
    sent_at: datetime,
    deadlines: Mapping[Priority, timedelta] = DEFAULT_ANSWER_DEADLINES,
) -> datetime:
    """The moment from which an unanswered referral may expire."""
    _require_aware(sent_at, "sent_at")
    return sent_at + deadlines[priority]


class Side(StrEnum):
    """On whose behalf an action is taken; the service maps the Principal onto it."""

    REFERRING = "referring"
    RECEIVING = "receiving"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return {
            "referring": "Établissement demandeur",
            "receiving": "Établissement destinataire",
            "system": "Système",
        }[self]

    @property
    def phrase(self) -> str:
        return {
            "referring": "l'établissement demandeur",
            "receiving": "l'établissement destinataire",
            "system": "le système (automatique)",
        }[self]


class Action(StrEnum):
    SEND = "send"
    RECEIVE = "receive"
    ACCEPT = "accept"
    REFUSE = "refuse"
    REDIRECT = "redirect"
    SCHEDULE = "schedule"
    ARRIVE = "arrive"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]

    @property
    def rule(self) -> ActionRule:
        return RULES[self]


_ACTION_LABELS: dict[Action, str] = {
    Action.SEND: "Envoyer",
    Action.RECEIVE: "Accuser réception",
    Action.ACCEPT: "Accepter",
    Action.REFUSE: "Refuser",
    Action.REDIRECT: "Réorienter",
    Action.SCHEDULE: "Fixer le rendez-vous",
    Action.ARRIVE: "Enregistrer l'arrivée du patient",
    Action.COMPLETE: "Clôturer avec la contre-référence",
    Action.CANCEL: "Annuler",
    Action.EXPIRE: "Expirer (délai de réponse dépassé)",
}

CREATION_LABEL = "Création"


class Input(StrEnum):
    """An input an action cannot do without."""

    REASON = "reason"
    DESTINATION = "destination"
    APPOINTMENT = "appointment"  # a datetime, or ``immediate``
    COUNTER_REFERRAL = "counter_referral"


@dataclass(frozen=True)
class ActionRule:
    """One row of the machine: from which states, by which side, with what, to where."""

    action: Action
    allowed: Mapping[ReferralState, frozenset[Side]]
    target: ReferralState
    requires: frozenset[Input]
    permission: Permission | None  # None: the system only

    @property
    def from_states(self) -> frozenset[ReferralState]:
        return frozenset(self.allowed)

    def sides_from(self, state: ReferralState) -> frozenset[Side]:
        return self.allowed.get(state, frozenset())


_REF = frozenset({Side.REFERRING})
_RECV = frozenset({Side.RECEIVING})
_BOTH = frozenset({Side.REFERRING, Side.RECEIVING})
_SYS = frozenset({Side.SYSTEM})
S = ReferralState

# The whole machine. Reading it row by row answers "who may do what, when":
# - answering (accept/refuse/redirect) is possible from SENT as well as RECEIVED:
#   an answer implies receipt, and the acknowledgement is not made a hurdle;
# - SCHEDULE from APPOINTMENT_SCHEDULED is a new appointment (rescheduling);
# - the receiving side may cancel only once it had accepted (patient did not come,
#   service closed); before that it refuses or redirects, with a reason;
# - nobody acts on a terminal state; a refused referral is answered by a new one.
RULES: Mapping[Action, ActionRule] = MappingProxyType(
    {
        rule.action: rule
        for rule in (
            ActionRule(
                Action.SEND, {S.DRAFT: _REF}, S.SENT, frozenset(), Permission.CLINICAL_WRITE
            ),
            ActionRule(
                Action.RECEIVE, {S.SENT: _RECV}, S.RECEIVED, frozenset(), Permission.PATIENT_WRITE
            ),
            ActionRule(
                Action.ACCEPT,
                {S.SENT: _RECV, S.RECEIVED: _RECV},
                S.ACCEPTED,
                frozenset(),
                Permission.CLINICAL_WRITE,
            ),
            ActionRule(
                Action.REFUSE,
                {S.SENT: _RECV, S.RECEIVED: _RECV},
                S.REFUSED,
                frozenset({Input.REASON}),
                Permission.CLINICAL_WRITE,
            ),
            ActionRule(
                Action.REDIRECT,
                {S.SENT: _RECV, S.RECEIVED: _RECV},
                S.REDIRECTED,
                frozenset({Input.REASON, Input.DESTINATION}),
                Permission.CLINICAL_WRITE,
            ),
            ActionRule(
                Action.SCHEDULE,
                {S.ACCEPTED: _RECV, S.APPOINTMENT_SCHEDULED: _RECV},
                S.APPOINTMENT_SCHEDULED,
                frozenset({Input.APPOINTMENT}),
                Permission.PATIENT_WRITE,
            ),
            ActionRule(
                Action.ARRIVE,
                {S.APPOINTMENT_SCHEDULED: _RECV},
                S.PATIENT_ARRIVED,
                frozenset(),
                Permission.PATIENT_WRITE,
            ),
            ActionRule(
                Action.COMPLETE,
                {S.PATIENT_ARRIVED: _RECV},
                S.COMPLETED,
                frozenset({Input.COUNTER_REFERRAL}),
                Permission.CLINICAL_WRITE,
            ),
            ActionRule(
                Action.CANCEL,
                {
                    S.DRAFT: _REF,
                    S.SENT: _REF,
                    S.RECEIVED: _REF,
                    S.ACCEPTED: _BOTH,
                    S.APPOINTMENT_SCHEDULED: _BOTH,
                },
                S.CANCELLED,
                frozenset({Input.REASON}),
                Permission.CLINICAL_WRITE,
            ),
            ActionRule(
                Action.EXPIRE,
                {S.SENT: _SYS, S.RECEIVED: _SYS},
                S.EXPIRED,
                frozenset(),
                None,
            ),
        )
    }
)


# --- refusals ----------------------------------------------------------------

# Machine code → French template (formatted with the error's params after translation).
REFUSAL_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "stale_version": (
            "La référence a été modifiée entre-temps (version {current}, vous aviez la "
            "version {expected}) : rechargez-la avant d'agir."
        ),
        "terminal_state": "La référence est close ({state}) : plus aucune action n'est possible.",
        "not_allowed_from_state": (
            "L'action « {action} » n'est pas possible quand la référence est à l'état « {state} »."
        ),
        "side_not_allowed": "L'action « {action} » revient à {allowed} et non à {side}.",
        "time_before_last_event": (
            "Horodatage ({now}) antérieur au dernier événement de la référence ({last})."
        ),
        "reason_required": "Un motif est obligatoire pour l'action « {action} ».",
        "destination_required": "Indiquez l'établissement vers lequel réorienter la référence.",
        "appointment_required": "Indiquez la date et l'heure du rendez-vous, ou « immédiat ».",
        "appointment_conflicting": (
            "Un rendez-vous est soit immédiat, soit à une date donnée, pas les deux."
        ),
        "appointment_timezone_missing": "La date du rendez-vous doit préciser son fuseau horaire.",
        "appointment_in_past": "Le rendez-vous ({appointment}) est déjà passé ({now}).",
        "counter_referral_required": (
            "La contre-référence (compte rendu adressé à l'établissement demandeur) est "
            "obligatoire pour clôturer la référence."
        ),
        "redirect_to_same": "La référence est déjà adressée à {destination}.",
        "redirect_to_source": (
            "Impossible de réorienter vers l'établissement demandeur ({destination}) : "
            "refusez plutôt la référence en donnant le motif."
        ),
        "redirect_loop": (
            "{destination} a déjà reçu cette référence dans la chaîne de réorientations."
        ),
        "not_yet_due": (
            "Le délai de réponse court jusqu'au {due} : la référence ne peut pas encore expirer."
        ),
        "same_establishment": (
            "Un établissement ne s'adresse pas une référence à lui-même ({source})."
        ),
        "unknown_specialty": "Spécialité inconnue : {specialty}.",
        "bed_service_required": "Une demande de lit précise le service où le lit est demandé.",
        "unknown_bed_service": "Service demandé inconnu : {specialty}.",
        "system_only": "L'action « {action} » est réservée au système.",
        "permission_missing": "Votre rôle ne permet pas l'action « {action} ».",
        "outside_scope": (
            "Cette référence ne concerne aucun établissement de votre périmètre ({scope})."
        ),
    }
)

# 409 when the referral's state forbids it (the rule), 422 when an input is
# missing or wrong, 403 when the caller acts for the wrong side.
REFUSAL_STATUS: Mapping[str, int] = MappingProxyType(
    {
        "side_not_allowed": 403,
        "reason_required": 422,
        "destination_required": 422,
        "appointment_required": 422,
        "appointment_conflicting": 422,
        "appointment_timezone_missing": 422,
        "appointment_in_past": 422,
        "counter_referral_required": 422,
        "redirect_to_same": 422,
        "redirect_to_source": 422,
        "redirect_loop": 422,
        "same_establishment": 422,
        "unknown_specialty": 422,
        "bed_service_required": 422,
        "unknown_bed_service": 422,
        "system_only": 403,
        "permission_missing": 403,
        "outside_scope": 403,
    }
)


class TransitionRefused(Conflict):
    """A move the machine does not allow; ``code`` is stable, the message is French.

    A :class:`parcours.errors.Conflict` (HTTP 409) unless the code says the input was
    wrong (422) or the caller acts for the wrong side (403): see ``REFUSAL_STATUS``.
    """

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(REFUSAL_MESSAGES[code], code=code, **params)
        self.status_code = REFUSAL_STATUS.get(code, 409)

    def __str__(self) -> str:
        return f"{self.code}: {self.render()}"


# --- the snapshot and its history ---------------------------------------------


@dataclass(frozen=True)
class ReferralSnapshot:
    """What the machine needs to know of a referral; the service maps its row onto it.

    Clinical content (reason for referral, summary, attachments) lives in the
    storage row, not here: the machine only checks that a counter-referral exists.
    ``chain`` lists the destinations from the first referral of a redirect chain to
    this one; ``map_version`` and ``designated_destination`` are stamped when the
    referral is drafted, so later map versions never change its verdict.
    """

    source: str
    destination: str
    specialty: str
    priority: Priority
    created_at: datetime
    state: ReferralState = ReferralState.DRAFT
    version: int = 1
    id: int | None = None
    bed_request: bool = False
    bed_service: str | None = None
    map_version: int | None = None
    designated_destination: str | None = None
    parent_id: int | None = None
    root_id: int | None = None
    chain: tuple[str, ...] = ()
    sent_at: datetime | None = None
    answer_due_at: datetime | None = None
    received_at: datetime | None = None
    answered_at: datetime | None = None
    appointment_at: datetime | None = None
    scheduled_at: datetime | None = None
    arrived_at: datetime | None = None
    closed_at: datetime | None = None
    closing_reason: str | None = None
    redirected_to: str | None = None
    counter_referral: str | None = None
    last_event_at: datetime | None = None

    @property
    def along_map(self) -> bool | None:
        """Whether the destination is the one the map designated (None: not stamped)."""
        if self.designated_destination is None:
            return None
        return self.destination == self.designated_destination

    @property
    def is_redirect(self) -> bool:
        return self.parent_id is not None or len(self.chain) > 1


@dataclass(frozen=True)
class ReferralEvent:
    """One line of a referral's history: who moved it from where to where, when and why.

    ``version`` is the snapshot version the event produced: 1 for the creation,
    then contiguous. ``action`` is None for the creation of a draft; a referral
    born of a redirect starts with a REDIRECT event from None to SENT.
    """

    version: int
    action: Action | None
    from_state: ReferralState | None
    to_state: ReferralState
    at: datetime
    by: str
    side: Side
    reason: str | None = None
    destination: str | None = None
    appointment_at: datetime | None = None
    immediate: bool = False
    related_id: int | None = None  # the referral this one was redirected from

    @property
    def label(self) -> str:
        return CREATION_LABEL if self.action is None else self.action.label


@dataclass(frozen=True)
class Payload:
    """The inputs of an action; only those the action needs are read."""

    reason: str | None = None
    destination: str | None = None
    appointment_at: datetime | None = None
    immediate: bool = False
    counter_referral: str | None = None


NO_PAYLOAD = Payload()


@dataclass(frozen=True)
class Transition:
    """The outcome of an allowed action.

    ``spawned``/``spawned_event`` are set by a redirect: the new referral (no id
    yet; ``parent_id`` points at this one) to insert in the same transaction.
    """

    snapshot: ReferralSnapshot
    event: ReferralEvent
    spawned: ReferralSnapshot | None = None
    spawned_event: ReferralEvent | None = None


# --- creation and transitions --------------------------------------------------


def new_referral(
    *,
    source: str,
    destination: str,
    specialty: str,
    priority: Priority,
    now: datetime,
    by: str,
    bed_request: bool = False,
    bed_service: str | None = None,
    map_version: int | None = None,
    designated_destination: str | None = None,
) -> Transition:
    """A draft referral and its creation event (version 1).

    An emergency transfer between hospitals is a referral with ``bed_request`` and
    the service (specialty code) where the bed is asked for; it follows the same
    machine, usually with ``Priority.URGENT`` and an immediate appointment.
    """
    _require_aware(now, "now")
    source = normalise_code(source)
    destination = normalise_code(destination)
    if source == destination:
        raise TransitionRefused("same_establishment", source=source)
    if specialty not in SPECIALTY_CODES:
        raise TransitionRefused("unknown_specialty", specialty=specialty)
    if bed_request and not bed_service:
        raise TransitionRefused("bed_service_required")
    if bed_service is not None and bed_service not in SPECIALTY_CODES:
        raise TransitionRefused("unknown_bed_service", specialty=bed_service)
    snapshot = ReferralSnapshot(
        source=source,
        destination=destination,
        specialty=specialty,
        priority=priority,
        created_at=now,
        bed_request=bed_request,
        bed_service=bed_service if bed_request else None,
        map_version=map_version,
        designated_destination=(
            normalise_code(designated_destination) if designated_destination else None
        ),
        chain=(destination,),
        last_event_at=now,
    )
    event = ReferralEvent(1, None, None, ReferralState.DRAFT, now, by, Side.REFERRING)
    return Transition(snapshot, event)


def apply(
    snapshot: ReferralSnapshot,
    action: Action,
    actor_side: Side,
    now: datetime,
    payload: Payload = NO_PAYLOAD,
    *,
    by: str,
    expected_version: int | None = None,
    deadlines: Mapping[Priority, timedelta] = DEFAULT_ANSWER_DEADLINES,
) -> Transition:
    """Apply ``action`` taken by ``by`` for ``actor_side`` at ``now``, or refuse it.

    Checks, in order: the version the caller saw, a terminal state, the state,
    the side, time going backwards, the mandatory inputs, then the action's own
    rules (expiry not before the deadline, a redirect's destination, an
    appointment not in the past). ``deadlines`` is read only by SEND, which stamps
    ``answer_due_at`` so that a later change of setting does not move it.
    """
    _require_aware(now, "now")
    if expected_version is not None and expected_version != snapshot.version:
        raise TransitionRefused(
            "stale_version", current=snapshot.version, expected=expected_version
        )
    state = snapshot.state
    if state.is_terminal:
        raise TransitionRefused("terminal_state", state=state.label)
    rule = RULES[action]
    if state not in rule.allowed:
        raise TransitionRefused("not_allowed_from_state", action=action.label, state=state.label)
    sides = rule.sides_from(state)
    if actor_side not in sides:
        raise TransitionRefused(
            "side_not_allowed",
            action=action.label,
            allowed=" ou ".join(s.phrase for s in sorted(sides)),
            side=actor_side.phrase,
        )
    if snapshot.last_event_at is not None and now < snapshot.last_event_at:
        raise TransitionRefused(
            "time_before_last_event", now=_fmt(now), last=_fmt(snapshot.last_event_at)
        )
    reason = _clean(payload.reason)
    _check_inputs(rule, payload, reason)

    changes: dict[str, Any] = {}
    event_extra: dict[str, Any] = {}
    spawned: ReferralSnapshot | None = None
    spawned_event: ReferralEvent | None = None
    version = snapshot.version + 1

    if action is Action.SEND:
        changes["sent_at"] = now
        changes["answer_due_at"] = deadline(snapshot.priority, now, deadlines)
    elif action is Action.RECEIVE:
        changes["received_at"] = now
    elif action in (Action.ACCEPT, Action.REFUSE, Action.REDIRECT):
        changes["answered_at"] = now
        if snapshot.received_at is None:
            changes["received_at"] = now  # an answer implies receipt
    elif action is Action.SCHEDULE:
        appointment = _appointment(payload, now)
        changes["appointment_at"] = appointment
        changes["scheduled_at"] = now
        event_extra["appointment_at"] = appointment
        event_extra["immediate"] = payload.immediate
    elif action is Action.ARRIVE:
        changes["arrived_at"] = now
    elif action is Action.COMPLETE:
        changes["counter_referral"] = _clean(payload.counter_referral)
    elif action is Action.EXPIRE:
        due = snapshot.answer_due_at
        if due is None or now < due:
            raise TransitionRefused("not_yet_due", due=_fmt(due) if due else "?")

    if action is Action.REDIRECT:
        target = normalise_code(payload.destination or "")
        if target == snapshot.destination:
            raise TransitionRefused("redirect_to_same", destination=target)
        if target == snapshot.source:
            raise TransitionRefused("redirect_to_source", destination=target)
        if target in snapshot.chain:
            raise TransitionRefused("redirect_loop", destination=target)
        changes["redirected_to"] = target
        event_extra["destination"] = target
        spawned, spawned_event = _spawn_redirect(snapshot, target, now, by, reason, deadlines)

    if rule.target.is_terminal:
        changes["closed_at"] = now
        changes["closing_reason"] = reason

    new = replace(
        snapshot,
        state=rule.target,
        version=version,
        last_event_at=now,
        **changes,
    )
    event = ReferralEvent(
        version=version,
        action=action,
        from_state=state,
        to_state=rule.target,
        at=now,
        by=by,
        side=actor_side,
        reason=reason,
        **event_extra,
    )
    return Transition(new, event, spawned, spawned_event)


def _check_inputs(rule: ActionRule, payload: Payload, reason: str | None) -> None:
    if Input.REASON in rule.requires and reason is None:
        raise TransitionRefused("reason_required", action=rule.action.label)
    if Input.DESTINATION in rule.requires and _clean(payload.destination) is None:
        raise TransitionRefused("destination_required")
    if Input.APPOINTMENT in rule.requires:
        if payload.immediate and payload.appointment_at is not None:
            raise TransitionRefused("appointment_conflicting")
        if not payload.immediate and payload.appointment_at is None:
            raise TransitionRefused("appointment_required")
    if Input.COUNTER_REFERRAL in rule.requires and _clean(payload.counter_referral) is None:
        raise TransitionRefused("counter_referral_required")


def _appointment(payload: Payload, now: datetime) -> datetime:
    if payload.immediate:
        return now
    at = payload.appointment_at
    assert at is not None  # checked by _check_inputs
    if at.tzinfo is None or at.utcoffset() is None:
        raise TransitionRefused("appointment_timezone_missing")
    if at < now:
        raise TransitionRefused("appointment_in_past", appointment=_fmt(at), now=_fmt(now))
    return at


def _spawn_redirect(
    parent: ReferralSnapshot,
    target: str,
    now: datetime,
    by: str,
    reason: str | None,
    deadlines: Mapping[Priority, timedelta],
) -> tuple[ReferralSnapshot, ReferralEvent]:
    """The referral a redirect creates: already SENT, with a fresh answer deadline.

    The new destination gets the full deadline of the priority from the redirect
    (it only learns of the patient now); the chain keeps the history of where the
    patient was sent, and the referring establishment stays the one that will get
    the counter-referral.
    """
    child = ReferralSnapshot(
        source=parent.source,
        destination=target,
        specialty=parent.specialty,
        priority=parent.priority,
        created_at=now,
        state=ReferralState.SENT,
        version=1,
        bed_request=parent.bed_request,
        bed_service=parent.bed_service,
        map_version=parent.map_version,
        designated_destination=parent.designated_destination,
        parent_id=parent.id,
        root_id=parent.root_id if parent.root_id is not None else parent.id,
        chain=(*parent.chain, target),
        sent_at=now,
        answer_due_at=deadline(parent.priority, now, deadlines),
        last_event_at=now,
    )
    event = ReferralEvent(
        version=1,
        action=Action.REDIRECT,
        from_state=None,
        to_state=ReferralState.SENT,
        at=now,
        by=by,
        side=Side.RECEIVING,
        reason=reason,
        destination=target,
        related_id=parent.id,
    )
    return child, event


# --- who acts: mapping a Principal onto a side ----------------------------------


def sides_of(
    principal: Principal,
    *,
    source: str,
    source_province: str,
    destination: str,
    destination_province: str,
) -> frozenset[Side]:
    """The sides a user's scope lets them act for (a GST-wide user covers both)."""
    sides: set[Side] = set()
    if principal.scope.covers(source, source_province):
        sides.add(Side.REFERRING)
    if principal.scope.covers(destination, destination_province):
        sides.add(Side.RECEIVING)
    return frozenset(sides)


def choose_side(action: Action, state: ReferralState, sides: Iterable[Side]) -> Side | None:
    """The side to record for a user holding ``sides``, or None if none may act.

    A user covering both ends (GST-wide, or a province holding both) acts for the
    side the rule calls for; when both may (a cancel after acceptance) the
    referring side is recorded, cancelling being first the referrer's decision.
    """
    allowed = RULES[action].sides_from(state)
    for side in (Side.REFERRING, Side.RECEIVING, Side.SYSTEM):
        if side in allowed and side in set(sides):
            return side
    return None


def acting_side(
    principal: Principal,
    snapshot: ReferralSnapshot,
    action: Action,
    *,
    source_province: str,
    destination_province: str,
) -> Side:
    """The side ``principal`` acts for, or a refusal (403) saying why they may not act.

    The service calls it before :func:`apply`. When the state does not allow the
    action at all, any side the user holds is returned so that :func:`apply`
    answers with the state's refusal (409): "already accepted" tells more than
    "not your side". EXPIRE is never a user's action: the sweeper passes
    ``Side.SYSTEM`` to :func:`apply` directly.
    """
    rule = RULES[action]
    if rule.permission is None:
        raise TransitionRefused("system_only", action=action.label)
    if not principal.can(rule.permission):
        raise TransitionRefused("permission_missing", action=action.label)
    sides = sides_of(
        principal,
        source=snapshot.source,
        source_province=source_province,
        destination=snapshot.destination,
        destination_province=destination_province,
    )
    if not sides:
        raise TransitionRefused("outside_scope", scope=principal.scope.describe())
    if snapshot.state not in rule.allowed:
        return min(sides)
    side = choose_side(action, snapshot.state, sides)
    if side is None:
        allowed = rule.sides_from(snapshot.state)
        raise TransitionRefused(
            "side_not_allowed",
            action=action.label,
            allowed=" ou ".join(s.phrase for s in sorted(allowed)),
            side=" et ".join(s.phrase for s in sorted(sides)),
        )
    return side


def available_actions(
    snapshot: ReferralSnapshot, sides: Iterable[Side], now: datetime
) -> list[Action]:
    """Actions to offer as buttons: allowed from the state, for one of ``sides``.

    EXPIRE is offered only once due. Inputs are not checked (the form asks them).
    """
    held = set(sides)
    actions: list[Action] = []
    for action, rule in RULES.items():
        if not held & rule.sides_from(snapshot.state):
            continue
        if action is Action.EXPIRE and not is_overdue(snapshot, now):
            continue
        actions.append(action)
    return actions


# --- deadlines and timings -------------------------------------------------------


def is_overdue(snapshot: ReferralSnapshot, now: datetime) -> bool:
    """Unanswered at or past its deadline (the same instant from which it may expire)."""
    return (
        snapshot.state.awaits_answer
        and snapshot.answer_due_at is not None
        and now >= snapshot.answer_due_at
    )


class DeadlineStatus(StrEnum):
    NONE = "none"
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    REPORT_OVERDUE = "report_overdue"

    @property
    def label(self) -> str:
        return {
            "none": "Sans délai",
            "on_time": "Dans les délais",
            "due_soon": "Échéance proche",
            "overdue": "Délai dépassé",
            "report_overdue": "Contre-référence en retard",
        }[self]

    @property
    def colour(self) -> str:
        return {
            "none": "#9e9e9e",
            "on_time": "#2e7d32",
            "due_soon": "#ef6c00",
            "overdue": "#c62828",
            "report_overdue": "#6a1b9a",
        }[self]


#: How long after the patient's arrival the counter-referral is awaited before the
#: referral is flagged in the inboxes: one referral in sixteen was seen to stay at
#: "patient arrived" for good, the report never sent back (benchmarks/README.md).
REPORT_DUE_AFTER = timedelta(days=30)


def deadline_status(
    snapshot: ReferralSnapshot, now: datetime, soon_fraction: float = 0.25
) -> DeadlineStatus:
    """For inboxes: overdue, or due soon once less than ``soon_fraction`` of the time is left;
    and, once the patient has arrived, a counter-referral awaited for ``REPORT_DUE_AFTER``."""
    if snapshot.state is ReferralState.PATIENT_ARRIVED and snapshot.arrived_at is not None:
        late = now - snapshot.arrived_at >= REPORT_DUE_AFTER
        return DeadlineStatus.REPORT_OVERDUE if late else DeadlineStatus.NONE
    if not snapshot.state.awaits_answer or snapshot.answer_due_at is None:
        return DeadlineStatus.NONE
    if is_overdue(snapshot, now):
        return DeadlineStatus.OVERDUE
    sent = snapshot.sent_at or snapshot.created_at
    total = snapshot.answer_due_at - sent
    if snapshot.answer_due_at - now <= total * soon_fraction:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.ON_TIME


@dataclass(frozen=True)
class ReferralTimings:
    """Facts for indicators, derived from the history alone."""

    final_state: ReferralState | None
    sent_at: datetime | None
    answered_at: datetime | None
    answer: ReferralState | None  # accepted, refused or redirected
    time_to_answer: timedelta | None
    answered_in_time: bool | None  # None when there is no answer or no deadline given
    appointment_at: datetime | None  # the last appointment given
    time_to_appointment: timedelta | None  # sent → appointment date
    reschedules: int
    arrived_at: datetime | None
    time_to_arrival: timedelta | None  # sent → patient arrived
    completed_at: datetime | None
    counter_referral_returned: bool
    time_to_counter_referral: timedelta | None  # patient arrived → report sent back
    expired: bool


def timings(
    history: Sequence[ReferralEvent], answer_due_at: datetime | None = None
) -> ReferralTimings:
    """Timing facts of one referral from its events (in version order)."""
    events = sorted(history, key=lambda e: e.version)
    sent_at = _first_at(events, ReferralState.SENT)
    answer_event = next((e for e in events if e.to_state in ANSWER_STATES), None)
    schedules = [e for e in events if e.action is Action.SCHEDULE]
    arrived_at = _first_at(events, ReferralState.PATIENT_ARRIVED)
    completed_at = _first_at(events, ReferralState.COMPLETED)
    answered_at = answer_event.at if answer_event else None
    appointment_at = schedules[-1].appointment_at if schedules else None
    return ReferralTimings(
        final_state=events[-1].to_state if events else None,
        sent_at=sent_at,
        answered_at=answered_at,
        answer=answer_event.to_state if answer_event else None,
        time_to_answer=_delta(sent_at, answered_at),
        answered_in_time=(answered_at <= answer_due_at if answered_at and answer_due_at else None),
        appointment_at=appointment_at,
        time_to_appointment=_delta(sent_at, appointment_at),
        reschedules=max(len(schedules) - 1, 0),
        arrived_at=arrived_at,
        time_to_arrival=_delta(sent_at, arrived_at),
        completed_at=completed_at,
        counter_referral_returned=completed_at is not None,
        time_to_counter_referral=_delta(arrived_at, completed_at),
        expired=any(e.to_state is ReferralState.EXPIRED for e in events),
    )


def history_problems(history: Sequence[ReferralEvent]) -> list[str]:
    """What is inconsistent in a history (empty when sound): for tests and audits.

    Versions 1..n contiguous, each event leaving the state the previous one
    reached, times never going back, nothing after a terminal state, and every
    move one the machine allows.
    """
    problems: list[str] = []
    previous: ReferralEvent | None = None
    for i, event in enumerate(history, start=1):
        if event.version != i:
            problems.append(f"version {event.version} à la position {i}")
        if previous is None:
            if event.from_state is not None:
                problems.append("le premier événement ne part pas de la création")
        else:
            if event.from_state is not previous.to_state:
                problems.append(
                    f"v{event.version} part de {event.from_state} au lieu de {previous.to_state}"
                )
            if event.at < previous.at:
                problems.append(f"v{event.version} antérieur à l'événement précédent")
            if previous.to_state.is_terminal:
                problems.append(f"v{event.version} après un état terminal")
            if event.action is None:
                problems.append(f"v{event.version} : création au milieu de l'historique")
            elif event.from_state is not None:
                rule = RULES[event.action]
                if event.from_state not in rule.allowed or rule.target is not event.to_state:
                    problems.append(f"v{event.version} : transition non prévue par la machine")
        previous = event
    return problems


# --- helpers --------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


def _fmt(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


def _first_at(events: Sequence[ReferralEvent], state: ReferralState) -> datetime | None:
    return next((e.at for e in events if e.to_state is state), None)


def _delta(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return end - start


__all__ = [
    "ANSWER_STATES",
    "DEFAULT_ANSWER_DEADLINES",
    "REFUSAL_MESSAGES",
    "REFUSAL_STATUS",
    "RULES",
    "TERMINAL_STATES",
    "Action",
    "ActionRule",
    "DeadlineStatus",
    "Input",
    "Payload",
    "Priority",
    "ReferralEvent",
    "ReferralSnapshot",
    "ReferralState",
    "ReferralTimings",
    "Side",
    "Transition",
    "TransitionRefused",
    "acting_side",
    "apply",
    "available_actions",
    "choose_side",
    "deadline",
    "deadline_status",
    "deadlines_from_hours",
    "history_problems",
    "is_overdue",
    "new_referral",
    "sides_of",
    "timings",
]

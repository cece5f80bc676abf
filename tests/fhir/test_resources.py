"""Every resource type the façade builds passes the fhir.resources R4B models, for
many generated inputs; a Patient goes there and back to a registration unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.fhir import resources as res
from parcours.fhir import rules
from parcours.pathways.encounter import EncounterKind
from parcours.pathways.referral import Priority, ReferralState
from parcours.pathways.schemas import DiagnosisOut, EncounterOut, PersonRef, ReferralOut
from parcours.patients.schemas import IdentifierOut, LinkEventOut, PersonOut, RecordOut
from parcours.territory.rules import EstablishmentType, Status
from parcours.territory.schemas import EstablishmentOut, ServiceOut
from parcours.workforce.rules import Category, EmploymentStatus, Sex
from parcours.workforce.schemas import AssignmentOut, ProfessionalFile

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LATIN = st.text(
    "abcdefghijklmnopqrstuvwxyzéèçïABCDEFGHIJKLMNOPQRSTUVWXYZ -'", min_size=1, max_size=30
)
ARABIC = st.text("ابتثجحخدذرزسشصضطظعغفقكلمنهوي ", min_size=1, max_size=20)
WORD = st.from_regex(r"[A-Z][a-z]{1,12}", fullmatch=True)
CODE = st.from_regex(r"[A-Z]{2,3}-[A-Z]{3}-0[1-9]", fullmatch=True)
#: hypothesis wants naive bounds and adds the zone itself
MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def _valid(resource: dict[str, Any]) -> Any:
    clean = res.checked(resource)
    return get_fhir_model_class(clean["resourceType"]).model_validate(clean)


@st.composite
def birth(draw: st.DrawFn) -> tuple[str, str] | None:
    day = draw(st.one_of(st.none(), st.dates(date(1920, 1, 1), date(2025, 12, 31))))
    if day is None:
        return None
    precision = draw(st.sampled_from(["year", "month", "day"]))
    text = {"year": f"{day.year:04d}", "month": f"{day.year:04d}-{day.month:02d}"}.get(
        precision, day.isoformat()
    )
    return text, precision


@st.composite
def persons(draw: st.DrawFn) -> PersonOut:
    n = draw(st.integers(1, 3))
    records = []
    born = draw(birth())
    sex = draw(st.sampled_from(["M", "F", None]))
    for i in range(n):
        records.append(
            RecordOut(
                record_key=f"R{i:09d}",
                person_id="P00000001",
                establishment=draw(st.one_of(st.none(), CODE)),
                local_id=draw(st.one_of(st.none(), st.from_regex(r"[0-9]{4,8}", fullmatch=True))),
                cin=draw(
                    st.one_of(st.none(), st.from_regex(r"[A-Z]{1,2}[0-9]{3,6}", fullmatch=True))
                ),
                amo_number=None,
                given_name=draw(st.one_of(st.none(), WORD)),
                family_name=draw(WORD),
                given_name_ar=draw(st.one_of(st.none(), ARABIC.map(str.strip).filter(bool))),
                family_name_ar=None,
                sex=sex,
                birth_date=born[0] if born else None,
                birth_precision=born[1] if born else None,
                phone=draw(st.one_of(st.none(), st.from_regex(r"06[0-9]{8}", fullmatch=True))),
                address=draw(st.one_of(st.none(), LATIN.map(str.strip))),
                commune=draw(st.one_of(st.none(), WORD)),
                registered_at=draw(MOMENT),
                registered_by="desk",
            )
        )
    identifiers = [
        IdentifierOut(kind="local_id", value=r.local_id, establishment=r.establishment)
        for r in records
        if r.local_id and r.establishment
    ] + [IdentifierOut(kind="cin", value=r.cin) for r in records[:1] if r.cin]
    events = [
        LinkEventOut(
            id=i + 1,
            record_key=r.record_key,
            person_id="P00000001",
            action="link",
            score=None,
            rule="new",
            actor="system:mpi",
            at=r.registered_at,
            reason=None,
            undoes_event_id=None,
            batch_id=None,
        )
        for i, r in enumerate(records)
    ]
    first = records[0]
    return PersonOut(
        person_id="P00000001",
        status=draw(st.sampled_from(["active", "merged"])),
        display_name=f"{first.given_name or ''} {first.family_name}".strip(),
        display_name_ar=None,
        sex=sex,
        birth_date=first.birth_date,
        birth_precision=first.birth_precision,
        identifiers=identifiers,
        records=records,
        history=events,
        open_reviews=0,
    )


@SETTINGS
@given(persons())
def test_a_patient_validates_and_comes_back_as_the_same_registration(person: PersonOut) -> None:
    resource = res.patient(person)
    model = _valid(resource)
    assert resource["meta"]["versionId"] == str(len(person.history))
    # what a system would send back: the FHIR JSON, parsed as any client input is
    again = res.parse(model.model_dump(mode="json", exclude_none=True), "Patient")
    record = res.record_in(again, None)
    first = next(r for r in person.records if r.given_name or r.family_name)
    assert record.family_name == first.family_name
    assert record.given_name == first.given_name
    assert record.sex == person.sex
    assert record.birth_date == person.birth_date
    with_ipp = [i for i in person.identifiers if i.kind == "local_id"]
    if with_ipp:
        assert record.local_id == with_ipp[0].value


@st.composite
def establishments(draw: st.DrawFn) -> EstablishmentOut:
    kind = draw(st.sampled_from(list(EstablishmentType)))
    status = draw(st.sampled_from(list(Status)))
    services = draw(
        st.lists(
            st.sampled_from(["cardiology", "general_medicine", "emergency", "paediatrics"]),
            unique=True,
            max_size=4,
        )
    )
    return EstablishmentOut(
        code=draw(CODE),
        name=draw(LATIN.map(str.strip).filter(bool)),
        name_ar=draw(st.one_of(st.none(), ARABIC.map(str.strip).filter(bool))),
        type=kind,
        type_label=kind.label,
        category="hospital",
        care_level=draw(st.integers(1, 4)),
        province="TNG",
        province_name="Tanger-Assilah",
        town=draw(st.one_of(st.just(""), WORD)),
        address=draw(st.one_of(st.just(""), LATIN)),
        phone=draw(st.one_of(st.just(""), st.from_regex(r"05[0-9]{8}", fullmatch=True))),
        latitude=draw(st.one_of(st.none(), st.floats(27, 36))),
        longitude=draw(st.one_of(st.none(), st.floats(-13, -1))),
        catchment_population=None,
        status=status,
        status_label=status.value,
        opened_on=None,
        closed_on=None,
        planned_opening_on=None,
        version=draw(st.integers(1, 50)),
        updated_at=draw(MOMENT),
        beds=0,
        services=[ServiceOut(specialty=s, specialty_name=s.title(), beds=3) for s in services],
    )


@SETTINGS
@given(establishments())
def test_registry_resources_validate(est: EstablishmentOut) -> None:
    org = _valid(res.organization(est))
    assert org.id == est.code
    loc = _valid(res.location(est))
    assert (loc.position is not None) == (est.latitude is not None and est.longitude is not None)
    services = [_valid(s) for s in res.healthcare_services(est)]
    assert len({s.id for s in services}) == len(est.services)


@st.composite
def referrals(draw: st.DrawFn) -> ReferralOut:
    state = draw(st.sampled_from(list(ReferralState)))
    priority = draw(st.sampled_from(list(Priority)))
    created = draw(MOMENT)
    closed = created + timedelta(days=3) if state.is_terminal else None
    rid = draw(st.integers(1, 10**6))
    return ReferralOut(
        id=rid,
        person=draw(
            st.one_of(
                st.none(),
                st.just(
                    PersonRef(person_id="P00000007", display_name="A B", sex="F", birth_date=None)
                ),
            )
        ),
        source="CSR-CHE-01",
        source_name="Centre",
        destination="HP-CHE-01",
        destination_name="Hôpital",
        specialty="cardiology",
        specialty_name="Cardiologie",
        priority=priority,
        state=state.value,
        state_label=state.label,
        version=draw(st.integers(1, 9)),
        referring_professional=None,
        reason=draw(st.one_of(st.none(), LATIN)),
        clinical_summary=draw(st.one_of(st.none(), LATIN)),
        attachments=[],
        bed_request=False,
        bed_service=None,
        map_version=1,
        designated_destination="HP-CHE-01",
        along_map=True,
        parent_id=draw(st.one_of(st.none(), st.integers(1, rid))),
        root_id=None,
        chain=[],
        created_at=created,
        created_by="nurse",
        sent_at=created,
        answer_due_at=None,
        deadline_status="ok",
        received_at=None,
        answered_at=None,
        appointment_at=None,
        arrived_at=None,
        closed_at=closed,
        closing_reason=None,
        redirected_to=None,
        counter_referral=draw(st.one_of(st.none(), LATIN))
        if state is ReferralState.COMPLETED
        else None,
        last_event_at=closed or created,
    )


@st.composite
def encounters(draw: st.DrawFn) -> EncounterOut:
    kind = draw(
        st.sampled_from(
            [EncounterKind.CONSULTATION, EncounterKind.EMERGENCY, EncounterKind.ADMISSION]
        )
    )
    start = draw(MOMENT)
    end = draw(st.one_of(st.none(), st.just(start + timedelta(hours=5))))
    codes = draw(
        st.lists(st.from_regex(r"[A-Z][0-9]{2}(\.[0-9])?", fullmatch=True), max_size=3, unique=True)
    )
    return EncounterOut(
        id=draw(st.integers(1, 10**6)),
        person_id="P00000007",
        establishment="HP-CHE-01",
        establishment_name="Hôpital",
        kind=kind,
        kind_label=kind.value,
        status="closed" if end else "open",
        specialty=draw(st.one_of(st.none(), st.just("cardiology"))),
        specialty_name="Cardiologie",
        bed_label=None,
        start_at=start,
        end_at=end,
        discharge_mode=None,
        transfer_to=None,
        referral_id=draw(st.one_of(st.none(), st.integers(1, 100))),
        overflow=False,
        diagnoses=[
            DiagnosisOut(code=c, label=draw(st.one_of(st.none(), LATIN)), known=True, rank=n + 1)
            for n, c in enumerate(codes)
        ],
        note=None,
        created_by="nurse",
    )


@SETTINGS
@given(st.lists(referrals(), min_size=1, max_size=4), st.lists(encounters(), max_size=3))
def test_pathway_resources_validate(refs: list[ReferralOut], visits: list[EncounterOut]) -> None:
    for r in refs:
        sr = _valid(res.service_request(r))
        task = _valid(res.task(r))
        assert task.status == ReferralState(r.state).fhir_task_status
        assert sr.meta.versionId == str(r.version)
    episodes = [_valid(e) for e in res.episode_of_care("P00000007", refs)]
    assert sum(len(e.referralRequest) for e in episodes) == len(refs)
    for v in visits:
        enc = _valid(res.encounter("P00000007", v))
        assert enc.status == ("finished" if v.end_at else "in-progress")
        conditions = [_valid(c) for c in res.conditions("P00000007", v)]
        assert [c.code.coding[0].code for c in conditions] == [d.code for d in v.diagnoses]


@SETTINGS
@given(
    WORD,
    WORD,
    st.sampled_from(list(Sex)),
    st.sampled_from(list(Category)),
    st.sampled_from(list(EmploymentStatus)),
    st.lists(st.booleans(), max_size=3),
)
def test_workforce_resources_validate(
    family: str,
    given_name: str,
    sex: Sex,
    category: Category,
    status: EmploymentStatus,
    active: list[bool],
) -> None:
    assignments = [
        AssignmentOut(
            id=n + 1,
            professional_id=7,
            establishment="HP-CHE-01",
            establishment_name="Hôpital",
            province="CHE",
            service="cardiology",
            service_name="Cardiologie",
            share=100,
            start_on=date(2024, 1, 1),
            end_on=None if on else date(2025, 1, 1),
            origin="hire",
            active=on,
        )
        for n, on in enumerate(active)
    ]
    file = ProfessionalFile(
        id=7,
        inpe="123456789",
        cin=None,
        family_name=family,
        given_name=given_name,
        family_name_ar=None,
        given_name_ar=None,
        sex=sex,
        birth_date=date(1980, 1, 1),
        age=45,
        retires_on=None,
        category=category,
        category_label=category.label,
        specialty=None,
        specialty_name=None,
        grade="",
        status=status,
        hired_on=None,
        phone="",
        email="",
        version=3,
        total_share=100,
        qualifications=[],
        assignments=assignments,
        shifts=[],
        mobility=[],
        history=[],
    )
    practitioner = _valid(res.practitioner(file))
    assert practitioner.active == any(active)
    for a in assignments:
        assert _valid(res.practitioner_role(a)).practitioner.reference == "Practitioner/7"


def test_operation_outcomes_and_the_capability_statement_validate() -> None:
    from parcours.errors import Conflict
    from parcours.fhir import service

    for exc, status in [
        (res.FhirError(400, "x", where=["Patient.birthDate"]), 400),
        (Conflict("y", code="not_allowed_from_state"), 409),
        (res.FhirError(412, "z", code="conflict"), 412),
    ]:
        _valid(service.outcome(exc, status))
    _valid(service.capability("http://x/fhir"))


@given(
    st.sampled_from(["ge", "gt", "le", "lt", "eq", "ne"]),
    st.dates(date(2000, 1, 1), date(2030, 1, 1)),
    MOMENT,
)
def test_date_prefixes_agree_with_the_interval(prefix: str, day: date, moment: datetime) -> None:
    r = rules.parse_date("date", prefix + day.isoformat())
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    expected = {
        "ge": moment >= start,
        "gt": moment >= end,
        "le": moment < end,
        "lt": moment < start,
        "eq": start <= moment < end,
        "ne": not (start <= moment < end),
    }[prefix]
    assert r.matches(moment) == expected


def test_smart_scopes_are_narrowed_to_what_was_registered() -> None:
    allowed = rules.parse_scopes("system/Patient.read system/Task.write")
    asked = rules.parse_scopes("system/*.read system/Task.write system/Encounter.write")
    got = {str(s) for s in rules.granted(asked, allowed)}
    assert got == {"system/Patient.read", "system/Task.write"}
    assert rules.allows(rules.parse_scopes("system/*.read"), "Encounter", "read")
    assert not rules.allows(rules.parse_scopes("system/*.read"), "Encounter", "write")

"""The expression language, quantiles, suppression and periods, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from parcours.indicators import rules
from parcours.indicators.rules import (
    Aggregate,
    Binary,
    Definition,
    Dimension,
    Direction,
    ExpressionError,
    Number,
    Tally,
    Theme,
)


def test_expressions_parse_into_aggregates_over_the_catalogue() -> None:
    expr = rules.parse_expression(
        'count(referral_sent, priority="urgent") * 100 / count(referral_sent)'
    )
    assert expr == Binary(
        "/",
        Binary("*", Aggregate("count", "referral_sent", Dimension.PRIORITY, "urgent"), Number(100)),
        Aggregate("count", "referral_sent"),
    )
    assert rules.parse_expression("p90(response_delay)") == Aggregate(
        "quantile", "response_delay", q=90.0
    )
    assert rules.parse_expression("percentile(response_delay, 75)").q == 75.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "L'expression est vide."),
        ("count(referals)", "Mesure inconnue « referals »"),
        ("avg(response_delay)", "Fonction inconnue « avg »"),
        ("__import__('os').system('x')", "Fonction inconnue"),
        ("count(referral_sent).__class__", "Élément non permis"),
        ("referral_sent", "doit être entouré d'une fonction"),
        ("count(referral_sent) ** 2", "Opérateur non permis"),
        ("count(referral_sent) > 3", "Élément non permis"),
        ("'DROP TABLE referral'", "Valeur non permise"),
        ("count(referral_sent", "Syntaxe invalide"),
        ("median(referral_sent)", "« median » demande une mesure de délai"),
        ("count(population)", "écrivez sum(population)"),
        ("percentile(response_delay, 120)", "entre 0 et 100"),
        ('count(referral_sent, region="TTA")', "Dimension inconnue « region »"),
        ('count(arrival, priority="urgent")', "ne se décline pas par « priority »"),
        ('count(referral_sent, priority="urgent", specialty="x")', "Un seul filtre"),
        ("count(referral_sent, priority=1)", "prend un texte entre guillemets"),
        ("count(x for x in referral_sent)", "s'écrit count(mesure)"),
    ],
)
def test_refused_expressions_say_what_is_wrong_in_french(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        rules.parse_expression(text)
    assert message in caught.value.message


def test_a_definition_names_the_faulty_side_and_checks_its_dimensions() -> None:
    base = Definition("X", "X", "", "count(referral_sent)", "count(nothing)", "%", 100.0,
                      Direction.HIGHER, Theme.PATHWAYS)  # fmt: skip
    with pytest.raises(ExpressionError, match=r"^Dénominateur : Mesure inconnue"):
        rules.check_definition(base)
    by_priority = Definition("X", "X", "", "count(arrival)", None, "", 1.0, Direction.HIGHER,
                             Theme.PATHWAYS, dimensions=(Dimension.PRIORITY,))  # fmt: skip
    with pytest.raises(ExpressionError, match="n'existe pas pour : arrival"):
        rules.check_definition(by_priority)
    with pytest.raises(ExpressionError, match="Code invalide"):
        rules.check_definition(Definition("a b", "X", "", "count(arrival)", None, "", 1.0,
                                          Direction.HIGHER, Theme.PATHWAYS))  # fmt: skip


def test_quantiles_are_nearest_rank_at_the_bucket_lower_bound() -> None:
    hist = {2: 1, 4: 1, 6: 1, 8: 1, 100: 1}
    assert rules.quantile_hours(hist, 50) == 6
    assert rules.quantile_hours(hist, 90) == 100
    assert rules.quantile_hours({}, 50) is None
    assert rules.bucket_of(3599) == 0
    assert rules.bucket_of(3 * 3600 + 59) == 3
    assert rules.bucket_of(167 * 3600) == 167
    assert rules.bucket_of(168 * 3600) == 168
    assert rules.bucket_of((168 + 47) * 3600) == 192
    assert rules.bucket_of(-50) == 0


def test_evaluation_and_small_cells() -> None:
    tallies = {
        "referral_answered_in_time": Tally(4, 4),
        "referral_due": Tally(6, 6),
        "length_of_stay": Tally(2, 8 * 86400, {72: 1, 120: 1}),
    }
    share = rules.check_definition(rules.SHIPPED[3])  # REF_DANS_DELAI
    value, persons = rules.indicator_value(share, lambda a: tallies[a.measure])
    assert value == pytest.approx(400 / 6)
    assert persons == (4, 6)
    assert rules.is_small_cell(persons)
    assert not rules.is_small_cell((0, 5, 12))
    dms = next(d for d in rules.SHIPPED if d.code == "DMS")
    value, _ = rules.indicator_value(rules.check_definition(dms), lambda a: tallies[a.measure])
    assert value == 4.0
    empty = rules.indicator_value(share, lambda a: Tally())
    assert empty == (None, (0, 0))


def test_periods_windows_and_months() -> None:
    q4 = rules.parse_period("2025-T4")
    assert q4.months == [202510, 202511, 202512]
    assert (q4.start, q4.end, q4.days) == (date(2025, 10, 1), date(2026, 1, 1), 92)
    assert rules.parse_period("2025-q1").previous().key == "2024-T4"
    assert rules.parse_period("2026-01").previous().key == "2025-12"
    assert rules.parse_period("2025").months[-1] == 202512
    with pytest.raises(ValueError, match="Période invalide"):
        rules.parse_period("2025-13")
    before, after = rules.before_after(202602)
    assert after == [202510, 202511, 202512, 202601, 202602]
    assert before == [202505, 202506, 202507, 202508, 202509]
    assert rules.before_after(202509) == ([], [])
    assert len(rules.before_after(202801)[1]) == 12
    day = 86400.0
    bounds = [(202511, 0.0, 30 * day), (202512, 30 * day, 61 * day)]
    assert rules.overlap_seconds_by_month(27 * day, 32 * day, bounds) == {
        202511: int(3 * day),
        202512: int(2 * day),
    }

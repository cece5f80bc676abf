"""The finance's labels (chapters, sub-lines, movements, states, alerts…) are in Arabic."""

from __future__ import annotations

from importlib import resources

from babel.messages.pofile import read_po

from parcours.finance import rules
from parcours.web.i18n import labels_of


def test_every_label_of_the_finance_rules_is_translated() -> None:
    po = resources.files("parcours.web") / "translations/ar/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    done = {m.id for m in catalog if isinstance(m.id, str) and m.string}
    labels = list(labels_of(rules))
    assert "Contre-passation" in labels
    assert "Médicaments et dispositifs médicaux" in labels
    missing = [label for label in labels if label not in done]
    assert not missing, missing

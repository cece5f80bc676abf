"""Moroccan personal names reduced to keys that survive their many spellings.

A Moroccan name is an Arabic (or Amazigh) name written down by a clerk, in
French spelling most of the time, in Arabic script some of the time. The same
person is "Mohamed", "Mohammed", "Mhamed" or "محمد" depending on the desk;
"El Amrani", "Elamrani", "Lamrani" or "Amrani"; "Fatima Zahra", "Fatimazahra"
or "Fatima-Ezzahra". Three properties of these spellings break the usual
phonetic codes:

* **Soundex** keeps the first letter and codes the next three consonants. An
  article or a particle in front (El, Ben, Aït) changes the first letter and
  the code (El Idrissi E432 / Idrissi I362 / Drissi D620); a prefixed vowel does
  the same (Ismail / Smail). Its consonant classes were built for English
  (it merges m and n, keeps h and w out), and it stops after four characters, so
  "Abderrahim" and "Abdellah" collide.
* **Metaphone / Double Metaphone** encode English (and some Romance/Germanic)
  spelling rules: "ch" becomes X or K, "ou" is a vowel, "gh" is often silent,
  "kh" becomes K+H. French transcriptions of Arabic use these digraphs for
  different sounds ("ch" = ش, "kh" = خ, "gh" = غ, "ou" = و which is a
  consonant in Ouazzani and a vowel in Youssef), and Metaphone knows nothing of
  particles or Arabic script.
* **OpenCR** (OpenHIE's client registry) compares with Double Metaphone and
  string distances tuned on English names; it has no notion of articles, of
  assimilated articles (Er-Rifi = Errifi = Rifi), of compound given names or
  of the Arabic script at all.

What this module does instead, as small rules each tested alone:

1. :func:`fold` — Unicode NFKC, Arabic script transliterated to Latin letters
   (:func:`transliterate_arabic`, consonant-faithful: Arabic writes no short
   vowels, so both sides later drop vowels anyway), accents removed, lower case,
   punctuation and hyphens turned into spaces.
2. :func:`merge_particles` — articles (El, Al, Er-, Es-, Ech-, Et-, Ez-, En-,
   Ed-…) written apart are dropped; connecting particles (Ben, Bent, Bin, Bel,
   Aït, Ou, Oulad/Ouled, Abou, a detached Bou) are joined to the next word, so
   "Ben Nani" and "Bennani", "Aït Ouali" and "Aitouali" become one word. "Bou"
   inside a word (Boukhari) is never touched. "Abd"/"Abdel"/"Abdou" are joined
   to the following word (Abdel Rahim → abdelrahim).
3. :func:`collapse_doubles` — doubled letters are single (Bennani / Benani,
   Mohammed / Mohamed, Echchaoui / Echaoui).
4. :func:`strip_attached_article` — an article glued to the word (Elamrani,
   Errifi, Echaoui, Ezzahra) is removed.
5. :func:`unify_spelling` — spelling variants with no change of sound: ou/w → u,
   y → i, ph → f, q → k, dj → j, sh → ch, th → t.
6. :func:`canonical_abd` — the "servant of" compounds written a dozen ways
   (Abderrahim, Abderahim, Abdel Rahim, عبد الرحيم; Abdellah, Abdallah,
   Abdelah) become "abdel" + the divine name. The words joined are the
   **normalised form** (``norm``), compared for exact agreement with a term
   frequency, and with Jaro–Winkler (also on the letters as typed, ``plain``,
   which forgives typos better).
7. :func:`skeleton` — the **consonant skeleton**, the key both French
   spellings and Arabic script reach: digraphs to one symbol (ch → x, kh → h,
   gh → g), c → s or k, every vowel dropped (Arabic does not write them, French
   clerks write them at random: e/a/i, ou/u/o), the half-vowels y and w dropped
   too (Meryem/Maryam/مريم), repeated consonants collapsed, and a leading "l"
   of an assimilated article dropped (Lamrani = El Amrani = Amrani → mrn).
   Mohamed, Mohammed, Mhamed, Muhammad and محمد are all "mhmd"; El Idrissi,
   Idrissi, Drissi and الإدريسي are all "drs".

The skeleton is deliberately coarse (Ahmed and Hamid share "hmd"): it is a
blocking key and one comparison level among several, weighed by the
Fellegi–Sunter model with the frequency of each skeleton, never a verdict.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# --- 1. folding -------------------------------------------------------------

#: Arabic letters to Latin, consonant-faithful (short vowels are not written in
#: Arabic; long vowels and half-vowels map to the French clerk's usual letters).
ARABIC_TO_LATIN: dict[str, str] = {
    "ا": "a",
    "أ": "a",
    "إ": "i",
    "آ": "a",
    "ٱ": "a",
    "ء": "",
    "ؤ": "",
    "ئ": "i",
    "ب": "b",
    "ت": "t",
    "ث": "t",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "d",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "ch",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "a",
    "غ": "gh",
    "ف": "f",
    "ق": "k",
    "ك": "k",
    "ک": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ة": "a",
    "و": "ou",
    "ي": "i",
    "ی": "i",
    "ى": "a",
    "ڭ": "g",
    "گ": "g",
    "ڤ": "v",
    "پ": "p",
}

_ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# harakat (short vowels, shadda, sukun), superscript alef, tatweel
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


_ARABIC_WORDS = re.compile(
    r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+"
    r"|[^\s\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+"
)


def is_arabic(text: str) -> bool:
    """True when the text holds Arabic letters (a record typed in Arabic)."""
    return bool(_ARABIC_LETTERS.search(text))


def _transliterate_word(word: str) -> str:
    out: list[str] = []
    # the definite article al- is written attached; make it a word of its own
    # so that the particle rule drops it like a French "El "
    if word.startswith("ال") and len(word) > 3:
        out.append("el ")
        word = word[2:]
    for position, letter in enumerate(word):
        latin = ARABIC_TO_LATIN.get(letter, "")
        # an initial waw or ya is a consonant (Walid, Youssef)
        if position == 0 and letter == "و":
            latin = "w"
        elif position == 0 and letter == "ي":
            latin = "y"
        out.append(latin)
    return "".join(out)


def transliterate_arabic(text: str) -> str:
    """Arabic script to a Latin spelling a French-speaking clerk might write.

    Connecting words of names are split like their French spellings:
    "بن"/"ابن" → ben, "آيت" → ait, "عبد" stays a word (joined later).
    """
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text))
    words = []
    for word in _ARABIC_WORDS.findall(text):
        if not is_arabic(word):
            words.append(word)
            continue
        if word in ("بن", "ابن"):
            words.append("ben")
        elif word in ("بنت",):
            words.append("bent")
        elif word in ("آيت", "ايت", "أيت"):
            words.append("ait")
        elif word.startswith("بن") and len(word) > 4:
            # بنعلي, بنجلون: the particle glued to the name
            words.append("ben" + _transliterate_word(word[2:]))
        else:
            words.append(_transliterate_word(word))
    return " ".join(words)


_NON_LETTERS = re.compile(r"[^a-z]+")


def fold(text: str) -> str:
    """Lower-case ASCII letters and single spaces; Arabic transliterated first.

    Accents go (Aït → ait, Saïd → said), hyphens, apostrophes and dots become
    spaces (Er-Rifi → er rifi, L'Amrani → l amrani), digits go.
    """
    text = unicodedata.normalize("NFKC", text)
    if is_arabic(text):
        text = transliterate_arabic(text)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.lower().replace("ß", "ss").replace("æ", "ae").replace("œ", "oe")
    return _NON_LETTERS.sub(" ", stripped).strip()


# --- 2. particles -----------------------------------------------------------

#: Definite articles written as a word of their own, assimilated forms included
#: (Er-Rifi, Es-Safi, Ech-Chaoui, Et-Tazi, Ez-Zahra, En-Naciri, Ed-Dahbi).
ARTICLES: frozenset[str] = frozenset(
    {"el", "al", "ul", "l", "er", "es", "ech", "esh", "et", "ez", "en", "ed", "ej", "eth"}
)

#: Particles that belong to the name that follows ("son of", "daughter of",
#: "people of", "father of"): written apart or joined, they are joined.
CONNECTORS: frozenset[str] = frozenset(
    {
        "ben",
        "bent",
        "bint",
        "bin",
        "ibn",
        "bel",
        "ait",
        "ou",
        "oulad",
        "ouled",
        "ould",
        "abou",
        "abu",
        "bou",
    }
)

#: "Servant of" written apart from the divine name (Abd El Kader, Abdel Rahim).
ABD_WORDS: frozenset[str] = frozenset(
    {"abd", "abdel", "abdal", "abdul", "abdoul", "abdou", "abdu", "abdi", "abde"}
)


def _spelled(words: frozenset[str]) -> frozenset[str]:
    return frozenset(unify_spelling(collapse_doubles(w)) for w in words)


def merge_particles(words: list[str]) -> list[str]:
    """Drop detached articles; join connectors and "Abd…" to the next word.

    Particles are recognised in any spelling (Ayt = Aït, Ouled = Ouleed), by
    their normalised form. An article at the very end, or a name made only of
    particles, is kept so that nothing is reduced to nothing.
    """
    out: list[str] = []
    pending = ""
    for index, word in enumerate(words):
        last = index == len(words) - 1
        spelled = unify_spelling(collapse_doubles(word))
        if spelled in _ARTICLES and not last:
            continue
        if (spelled in _CONNECTORS or spelled in _ABD_WORDS) and not last:
            pending += word
            continue
        out.append(pending + word)
        pending = ""
    if pending:
        out.append(pending)
    return out or list(words)


# --- 3. articles glued to the word --------------------------------------------

_GLUED_EL = re.compile(r"^el(?=[a-z]{4,}$)")
# an assimilated article: e + sun letter (Errifi, Essafi, Ezzahra, Echchaoui, Echaoui)
_GLUED_ASSIMILATED = re.compile(r"^e(?=(?:ch|sh|[rstznd])[a-z]{3,}$)")


def strip_attached_article(word: str) -> str:
    """Elamrani → amrani, Errifi → rrifi (doubles go later), Echaoui → chaoui."""
    word = _GLUED_EL.sub("", word)
    return _GLUED_ASSIMILATED.sub("", word)


# --- 4. Abd… compounds --------------------------------------------------------

_ABD_REST = re.compile(r"^[aeiou]*l*[aeiou]*")


def canonical_abd(word: str) -> str:
    """Turn the "servant of" compounds into abdel + name: Abderrahim = Abdel Rahim = abdelrahim.

    After "abd" come a vowel, the article (el, al, ul, or assimilated: er, es…)
    and the name. Vowels and l are dropped from the start of the rest; a doubled
    sun letter is single after :func:`collapse_doubles`. Abdellah, Abdallah and
    Abdelah all become "abdelah" → "abdelh"; Abdou alone stays "abdou".
    """
    if not word.startswith("abd") or len(word) <= 4:
        return word
    rest = _ABD_REST.sub("", word[3:])
    if rest[:2] in ("rr", "ss", "tt", "zz", "nn", "dd"):
        rest = rest[1:]
    return "abdel" + rest if rest else word


# --- 5–6. letters -------------------------------------------------------------

_DOUBLES = re.compile(r"([a-z])\1+")


def collapse_doubles(word: str) -> str:
    """Mohammed → mohamed, Bennani → benani, Echchaoui → echaoui."""
    return _DOUBLES.sub(r"\1", word.replace("chch", "ch").replace("shsh", "sh"))


_SPELLING = (("ph", "f"), ("dj", "j"), ("sh", "ch"), ("th", "t"), ("q", "k"))


def unify_spelling(word: str) -> str:
    """Letters that spell one sound: ou/w → u, y → i, ph → f, dj → j, q → k…"""
    while True:
        before = word
        for old, new in _SPELLING:
            word = word.replace(old, new)
        word = collapse_doubles(word.replace("w", "u").replace("y", "i").replace("ou", "u"))
        if word == before:
            return word


_ARTICLES = _spelled(ARTICLES)
_CONNECTORS = _spelled(CONNECTORS)
_ABD_WORDS = _spelled(ABD_WORDS)


def normalise_word(word: str) -> str:
    """One word of a name through rules 3–6 (doubles first, so that the
    article rule sees Echchaoui and Echaoui alike)."""
    word = strip_attached_article(collapse_doubles(word))
    return collapse_doubles(canonical_abd(unify_spelling(word)))


# --- 7. skeleton --------------------------------------------------------------

_SKELETON_DIGRAPHS = (("ch", "x"), ("kh", "h"), ("gh", "g"), ("ck", "k"))
_SOFT_C = re.compile(r"c(?=[eiy])")
_VOWELS = re.compile(r"[aeiouyw]+")


def skeleton(norm: str) -> str:
    """Consonant skeleton of a normalised word or name (spaces kept between words)."""
    out = []
    for word in norm.split():
        for old, new in _SKELETON_DIGRAPHS:
            word = word.replace(old, new)
        word = _SOFT_C.sub("s", word).replace("c", "k")
        word = _DOUBLES.sub(r"\1", _VOWELS.sub("", word))
        # a leading l is an assimilated article as often as not (Lamrani, Lahlou/لحلو)
        if word.startswith("l") and len(word) >= 3:
            word = word[1:]
        out.append(word)
    return " ".join(w for w in out if w)


# --- the result ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameKeys:
    """What matching needs of one name field.

    ``display`` is the name cleaned for showing (spaces, capitals, original
    script); ``plain`` the folded letters; ``tokens`` the normalised words;
    ``norm`` their concatenation (so that "Fatima Zahra" and "Fatimazahra"
    agree); ``skeleton`` the consonant
    key of ``norm``; ``token_skeletons`` the skeleton of each word, for partial
    agreement ("Fatima" and "Fatima Zahra") and token-set comparison.
    """

    display: str
    tokens: tuple[str, ...]
    norm: str
    skeleton: str
    token_skeletons: tuple[str, ...]
    arabic: bool
    #: the folded letters with particles merged and nothing else changed:
    #: string similarity on it forgives typos that the rules would amplify
    #: (Haan → han after collapsing, far from hasan)
    plain: str = ""

    @property
    def blocking_key(self) -> str:
        """The skeleton, or the normalised form when there is no consonant (Aya)."""
        return self.skeleton or "=" + self.norm


EMPTY = NameKeys("", (), "", "", (), False)

_SPACES = re.compile(r"\s+")


def display_form(text: str) -> str:
    """Single spaces, capitalised words ("EL AMRANI" → "El Amrani"); Arabic as typed."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    if is_arabic(text):
        return _ARABIC_MARKS.sub("", text)
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), text)


@lru_cache(maxsize=200_000)
def name_keys(text: str | None) -> NameKeys:
    """Every key of one name field (given or family name), cached by spelling."""
    if not text or not text.strip():
        return EMPTY
    words = merge_particles(fold(text).split())
    tokens = tuple(t for t in (normalise_word(w) for w in words) if t)
    if not tokens:
        return EMPTY
    norm = collapse_doubles("".join(tokens))
    token_skeletons = tuple(s for s in (skeleton(t) for t in tokens) if s)
    return NameKeys(
        display=display_form(text),
        tokens=tokens,
        norm=norm,
        skeleton=skeleton(norm),
        token_skeletons=token_skeletons,
        arabic=is_arabic(text),
        plain="".join(words),
    )


def normalise(text: str | None) -> str:
    """The normalised words, space-separated.

    Idempotent (normalise(normalise(x)) == normalise(x)): a normalised name is
    its own normal form, which the tests check on generated names.
    """
    return " ".join(name_keys(text).tokens)

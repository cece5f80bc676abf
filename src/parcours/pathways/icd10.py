"""ICD-10 (CIM-10, WHO edition) diagnoses: a compact list and a format validator.

The compact list holds the codes a regional network sees most — primary care
(respiratory infections, diarrhoea, hypertension, diabetes, pregnancy
follow-up), hospital care (appendicitis, fractures, deliveries, strokes,
cancers) and what is particular to northern Morocco (tuberculosis, hydatid
cyst, cutaneous leishmaniasis, brucellosis, scorpion stings, carbon monoxide
poisoning, cannabis and opioid dependence). Labels are the French WHO labels,
a few shortened. It serves picking lists and search; it is not a gate: any
code of valid format is accepted and kept, with the remark that it is not in
the compact list, since a specialist codes what the list does not foresee.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from parcours.territory.rules import search_key

_ENTRIES: tuple[tuple[str, str], ...] = (
    # I. Certain infectious and parasitic diseases
    ("A01.0", "Fièvre typhoïde"),
    ("A06.0", "Dysenterie amibienne aiguë"),
    ("A09.0", "Gastroentérites et colites d'origine infectieuse, autres et non précisées"),
    ("A09.9", "Gastroentérite et colite d'origine non précisée"),
    ("A15.0", "Tuberculose pulmonaire, confirmée par examen microscopique de l'expectoration"),
    (
        "A16.2",
        "Tuberculose pulmonaire, sans mention de confirmation bactériologique ou histologique",
    ),
    ("A18.2", "Adénopathie tuberculeuse périphérique"),
    ("A23.9", "Brucellose, sans précision"),
    ("A39.0", "Méningite à méningocoques"),
    ("A41.9", "Sepsis, sans précision"),
    ("A46", "Érysipèle"),
    ("A49.9", "Infection bactérienne, sans précision"),
    ("A82.9", "Rage, sans précision"),
    ("A87.9", "Méningite virale, sans précision"),
    ("B01.9", "Varicelle, sans complication"),
    ("B02.9", "Zona, sans complication"),
    ("B05.9", "Rougeole, sans complication"),
    ("B15.9", "Hépatite A, sans coma hépatique"),
    ("B16.9", "Hépatite aiguë B, sans agent delta et sans coma hépatique"),
    ("B18.1", "Hépatite virale chronique B sans agent delta"),
    ("B18.2", "Hépatite virale chronique C"),
    ("B24", "Maladie due au virus de l'immunodéficience humaine [VIH], sans précision"),
    ("B34.9", "Infection virale, sans précision"),
    ("B55.0", "Leishmaniose viscérale"),
    ("B55.1", "Leishmaniose cutanée"),
    ("B67.0", "Infection du foie à Echinococcus granulosus (kyste hydatique du foie)"),
    ("B67.1", "Infection du poumon à Echinococcus granulosus (kyste hydatique du poumon)"),
    ("B77.9", "Ascaridiase, sans précision"),
    ("B80", "Oxyurose"),
    ("B82.9", "Parasitose intestinale, sans précision"),
    ("B86", "Gale"),
    # II. Neoplasms
    ("C11.9", "Tumeur maligne du rhinopharynx, sans précision"),
    ("C16.9", "Tumeur maligne de l'estomac, sans précision"),
    ("C18.9", "Tumeur maligne du côlon, sans précision"),
    ("C20", "Tumeur maligne du rectum"),
    ("C22.0", "Carcinome hépatocellulaire"),
    ("C25.9", "Tumeur maligne du pancréas, sans précision"),
    ("C34.9", "Tumeur maligne des bronches ou du poumon, sans précision"),
    ("C50.9", "Tumeur maligne du sein, sans précision"),
    ("C53.9", "Tumeur maligne du col de l'utérus, sans précision"),
    ("C54.1", "Tumeur maligne de l'endomètre"),
    ("C56", "Tumeur maligne de l'ovaire"),
    ("C61", "Tumeur maligne de la prostate"),
    ("C67.9", "Tumeur maligne de la vessie, sans précision"),
    ("C71.9", "Tumeur maligne de l'encéphale, sans précision"),
    ("C73", "Tumeur maligne de la glande thyroïde"),
    ("C81.9", "Lymphome de Hodgkin, sans précision"),
    ("C85.9", "Lymphome non hodgkinien, sans précision"),
    ("C90.0", "Myélome multiple"),
    ("C91.0", "Leucémie lymphoblastique aiguë"),
    ("C92.0", "Leucémie myéloïde aiguë"),
    ("D25.9", "Léiomyome de l'utérus, sans précision"),
    # III. Blood
    ("D50.9", "Anémie par carence en fer, sans précision"),
    ("D56.1", "Bêta-thalassémie"),
    ("D57.1", "Anémie à cellules falciformes (drépanocytose) sans crise"),
    ("D64.9", "Anémie, sans précision"),
    # IV. Endocrine, nutritional and metabolic
    ("E03.9", "Hypothyroïdie, sans précision"),
    ("E04.9", "Goitre non toxique, sans précision"),
    ("E05.0", "Thyréotoxicose avec goitre diffus (maladie de Basedow)"),
    ("E10.1", "Diabète sucré de type 1, avec acidocétose"),
    ("E10.9", "Diabète sucré de type 1, sans complication"),
    ("E11.5", "Diabète sucré de type 2, avec complications vasculaires périphériques"),
    ("E11.9", "Diabète sucré de type 2, sans complication"),
    ("E14.9", "Diabète sucré, sans précision, sans complication"),
    ("E43", "Malnutrition protéino-énergétique grave, sans précision"),
    ("E44.0", "Malnutrition protéino-énergétique modérée"),
    ("E66.9", "Obésité, sans précision"),
    ("E78.5", "Hyperlipidémie, sans précision"),
    ("E86", "Hypovolémie (déshydratation)"),
    # V. Mental and behavioural
    ("F03", "Démence, sans précision"),
    ("F10.2", "Troubles liés à l'utilisation d'alcool : syndrome de dépendance"),
    ("F11.2", "Troubles liés à l'utilisation d'opiacés : syndrome de dépendance"),
    ("F12.2", "Troubles liés à l'utilisation de dérivés du cannabis : syndrome de dépendance"),
    ("F20.9", "Schizophrénie, sans précision"),
    ("F31.9", "Trouble affectif bipolaire, sans précision"),
    ("F32.9", "Épisode dépressif, sans précision"),
    ("F41.1", "Anxiété généralisée"),
    ("F43.1", "État de stress post-traumatique"),
    # VI. Nervous system
    ("G03.9", "Méningite, sans précision"),
    ("G20", "Maladie de Parkinson"),
    ("G30.9", "Maladie d'Alzheimer, sans précision"),
    ("G35", "Sclérose en plaques"),
    ("G40.9", "Épilepsie, sans précision"),
    ("G41.9", "État de mal épileptique, sans précision"),
    ("G43.9", "Migraine, sans précision"),
    ("G45.9", "Accident ischémique cérébral transitoire, sans précision"),
    ("G51.0", "Paralysie faciale (paralysie de Bell)"),
    ("G81.9", "Hémiplégie, sans précision"),
    # VII-VIII. Eye and ear
    ("H10.9", "Conjonctivite, sans précision"),
    ("H25.9", "Cataracte sénile, sans précision"),
    ("H36.0", "Rétinopathie diabétique"),
    ("H40.9", "Glaucome, sans précision"),
    ("H52.7", "Vice de réfraction, sans précision"),
    ("H60.9", "Otite externe, sans précision"),
    ("H66.9", "Otite moyenne, sans précision"),
    ("H81.1", "Vertige bénin paroxystique"),
    # IX. Circulatory system
    ("I05.0", "Rétrécissement mitral (rhumatismal)"),
    ("I10", "Hypertension essentielle (primitive)"),
    ("I20.0", "Angine de poitrine instable"),
    ("I20.9", "Angine de poitrine, sans précision"),
    ("I21.9", "Infarctus aigu du myocarde, sans précision"),
    ("I25.1", "Cardiopathie artérioscléreuse"),
    ("I26.9", "Embolie pulmonaire, sans mention de cœur pulmonaire aigu"),
    ("I42.0", "Myocardiopathie avec dilatation"),
    ("I48.9", "Fibrillation et flutter auriculaires, sans précision"),
    ("I50.0", "Insuffisance cardiaque congestive"),
    ("I50.9", "Insuffisance cardiaque, sans précision"),
    ("I60.9", "Hémorragie sous-arachnoïdienne, sans précision"),
    ("I61.9", "Hémorragie intracérébrale, sans précision"),
    ("I63.9", "Infarctus cérébral, sans précision"),
    ("I64", "Accident vasculaire cérébral, non précisé comme hémorragique ou par infarctus"),
    ("I70.2", "Athérosclérose des artères distales"),
    ("I80.2", "Phlébite et thrombophlébite des vaisseaux profonds des membres inférieurs"),
    ("I83.9", "Varices des membres inférieurs sans ulcère ou inflammation"),
    # X. Respiratory system
    ("J00", "Rhinopharyngite aiguë (rhume banal)"),
    ("J01.9", "Sinusite aiguë, sans précision"),
    ("J02.9", "Pharyngite aiguë, sans précision"),
    ("J03.9", "Amygdalite aiguë, sans précision"),
    ("J05.0", "Laryngite obstructive aiguë (croup)"),
    ("J06.9", "Infection aiguë des voies respiratoires supérieures, sans précision"),
    ("J11.1", "Grippe avec d'autres manifestations respiratoires, virus non identifié"),
    ("J15.9", "Pneumopathie bactérienne, sans précision"),
    ("J18.0", "Bronchopneumopathie, sans précision"),
    ("J18.9", "Pneumopathie, sans précision"),
    ("J20.9", "Bronchite aiguë, sans précision"),
    ("J21.9", "Bronchiolite aiguë, sans précision"),
    ("J30.4", "Rhinite allergique, sans précision"),
    ("J35.3", "Hypertrophie des amygdales avec hypertrophie des végétations adénoïdes"),
    ("J40", "Bronchite, non précisée comme aiguë ou chronique"),
    ("J42", "Bronchite chronique, sans précision"),
    ("J44.1", "Maladie pulmonaire obstructive chronique avec épisodes aigus"),
    ("J44.9", "Maladie pulmonaire obstructive chronique, sans précision"),
    ("J45.9", "Asthme, sans précision"),
    ("J46", "État de mal asthmatique"),
    ("J81", "Œdème pulmonaire"),
    ("J90", "Épanchement pleural, non classé ailleurs"),
    ("J93.9", "Pneumothorax, sans précision"),
    ("J96.0", "Insuffisance respiratoire aiguë"),
    # XI. Digestive system
    ("K02.9", "Carie dentaire, sans précision"),
    ("K04.7", "Abcès périapical sans fistule"),
    ("K21.9", "Reflux gastro-œsophagien sans œsophagite"),
    ("K25.9", "Ulcère de l'estomac, sans hémorragie ni perforation"),
    ("K26.9", "Ulcère du duodénum, sans hémorragie ni perforation"),
    ("K29.7", "Gastrite, sans précision"),
    ("K30", "Dyspepsie fonctionnelle"),
    ("K35.2", "Appendicite aiguë avec péritonite généralisée"),
    ("K35.8", "Appendicite aiguë, autres et sans précision"),
    ("K40.9", "Hernie inguinale, unilatérale ou sans précision, sans occlusion ni gangrène"),
    ("K42.9", "Hernie ombilicale, sans occlusion ni gangrène"),
    ("K50.9", "Maladie de Crohn, sans précision"),
    ("K51.9", "Rectocolite hémorragique, sans précision"),
    ("K52.9", "Gastroentérite et colite non infectieuses, sans précision"),
    ("K56.6", "Occlusions intestinales, autres et sans précision"),
    ("K59.0", "Constipation"),
    ("K64.9", "Hémorroïdes, sans précision"),
    ("K70.3", "Cirrhose alcoolique du foie"),
    ("K74.6", "Cirrhoses du foie, autres et sans précision"),
    ("K80.0", "Calcul de la vésicule biliaire avec cholécystite aiguë"),
    ("K80.2", "Calcul de la vésicule biliaire sans cholécystite"),
    ("K81.0", "Cholécystite aiguë"),
    ("K85.9", "Pancréatite aiguë, sans précision"),
    ("K92.0", "Hématémèse"),
    ("K92.2", "Hémorragie gastro-intestinale, sans précision"),
    # XII. Skin
    ("L01.0", "Impétigo"),
    ("L02.9", "Abcès cutané, furoncle et anthrax, sans précision"),
    ("L03.9", "Phlegmon (cellulite), sans précision"),
    ("L20.9", "Dermite atopique, sans précision"),
    ("L30.9", "Dermite, sans précision"),
    ("L40.9", "Psoriasis, sans précision"),
    ("L50.9", "Urticaire, sans précision"),
    ("L97", "Ulcère du membre inférieur, non classé ailleurs"),
    # XIII. Musculoskeletal
    ("M06.9", "Polyarthrite rhumatoïde, sans précision"),
    ("M16.9", "Coxarthrose, sans précision"),
    ("M17.9", "Gonarthrose, sans précision"),
    ("M19.9", "Arthrose, sans précision"),
    ("M51.1", "Atteinte d'un disque intervertébral lombaire avec radiculopathie"),
    ("M54.2", "Cervicalgie"),
    ("M54.3", "Sciatique"),
    ("M54.5", "Lombalgie basse"),
    ("M81.9", "Ostéoporose, sans précision"),
    ("M86.9", "Ostéomyélite, sans précision"),
    # XIV. Genitourinary
    ("N10", "Néphrite tubulo-interstitielle aiguë (pyélonéphrite aiguë)"),
    ("N17.9", "Insuffisance rénale aiguë, sans précision"),
    ("N18.5", "Maladie rénale chronique, stade 5"),
    ("N18.9", "Maladie rénale chronique, sans précision"),
    ("N20.0", "Calcul du rein"),
    ("N20.1", "Calcul de l'uretère"),
    ("N23", "Colique néphrétique, sans précision"),
    ("N30.0", "Cystite aiguë"),
    ("N39.0", "Infection des voies urinaires, siège non précisé"),
    ("N40", "Hyperplasie de la prostate"),
    ("N70.9", "Salpingite et ovarite, sans précision"),
    ("N73.9", "Affection inflammatoire des organes pelviens de la femme, sans précision"),
    ("N76.0", "Vaginite aiguë"),
    ("N83.2", "Kystes de l'ovaire, autres et sans précision"),
    ("N93.9", "Saignement anormal de l'utérus et du vagin, sans précision"),
    ("N97.9", "Stérilité de la femme, sans précision"),
    # XV. Pregnancy, childbirth and the puerperium
    ("O00.9", "Grossesse extra-utérine, sans précision"),
    ("O02.1", "Rétention d'un fœtus mort in utero (avortement manqué)"),
    ("O03.9", "Avortement spontané, complet ou sans précision, sans complication"),
    ("O14.1", "Pré-éclampsie sévère"),
    ("O14.9", "Pré-éclampsie, sans précision"),
    ("O15.0", "Éclampsie au cours de la grossesse"),
    ("O20.0", "Menace d'avortement"),
    ("O21.0", "Hyperémèse gravidique bénigne"),
    ("O23.4", "Infection de l'appareil urinaire au cours de la grossesse, sans précision"),
    ("O24.4", "Diabète sucré survenant au cours de la grossesse"),
    ("O34.2", "Soins maternels pour cicatrice utérine due à une intervention antérieure"),
    ("O36.4", "Soins maternels pour mort intra-utérine du fœtus"),
    ("O42.9", "Rupture prématurée des membranes, sans précision"),
    ("O44.1", "Placenta praevia avec hémorragie"),
    ("O45.9", "Décollement prématuré du placenta, sans précision"),
    ("O60.0", "Travail prématuré sans accouchement"),
    ("O70.0", "Déchirure obstétricale du périnée, du premier degré"),
    ("O72.0", "Hémorragie de la délivrance"),
    ("O80", "Accouchement unique et spontané"),
    ("O82", "Accouchement unique par césarienne"),
    ("O85", "Infection puerpérale"),
    ("O99.0", "Anémie compliquant la grossesse, l'accouchement et la puerpéralité"),
    # XVI. Perinatal period
    ("P07.3", "Autres enfants nés avant terme (prématurité)"),
    ("P21.9", "Asphyxie obstétricale, sans précision"),
    ("P22.0", "Syndrome de détresse respiratoire du nouveau-né"),
    ("P36.9", "Sepsis bactérien du nouveau-né, sans précision"),
    ("P59.9", "Ictère néonatal, sans précision"),
    # XVII. Congenital malformations
    ("Q21.0", "Communication interventriculaire"),
    ("Q90.9", "Syndrome de Down (trisomie 21), sans précision"),
    # XVIII. Symptoms and signs
    ("R04.0", "Épistaxis"),
    ("R05", "Toux"),
    ("R06.0", "Dyspnée"),
    ("R07.4", "Douleur thoracique, sans précision"),
    ("R10.4", "Douleurs abdominales, autres et non précisées"),
    ("R11", "Nausées et vomissements"),
    ("R17", "Ictère, sans précision"),
    ("R31", "Hématurie, sans précision"),
    ("R33", "Rétention d'urine"),
    ("R50.9", "Fièvre, sans précision"),
    ("R51", "Céphalée"),
    ("R53", "Malaise et fatigue"),
    ("R55", "Syncope et collapsus"),
    ("R56.0", "Convulsions fébriles"),
    # XIX. Injury and poisoning
    ("S00.9", "Lésion traumatique superficielle de la tête, partie non précisée"),
    ("S01.9", "Plaie ouverte de la tête, partie non précisée"),
    ("S06.0", "Commotion cérébrale"),
    ("S06.9", "Lésion traumatique intracrânienne, sans précision"),
    ("S42.0", "Fracture de la clavicule"),
    ("S42.2", "Fracture de l'extrémité supérieure de l'humérus"),
    ("S52.5", "Fracture de l'extrémité inférieure du radius"),
    ("S61.9", "Plaie ouverte du poignet et de la main, partie non précisée"),
    ("S72.0", "Fracture du col du fémur"),
    ("S72.3", "Fracture de la diaphyse fémorale"),
    ("S82.2", "Fracture de la diaphyse du tibia"),
    ("S93.4", "Entorse et foulure de la cheville"),
    ("T07", "Lésions traumatiques multiples, sans précision"),
    ("T14.9", "Lésion traumatique, sans précision"),
    ("T30.0", "Brûlure, partie du corps non précisée, degré non précisé"),
    ("T31.1", "Brûlures couvrant entre 10 et moins de 20 % de la surface du corps"),
    ("T50.9", "Intoxication par des médicaments et substances biologiques, sans précision"),
    ("T58", "Effet toxique du monoxyde de carbone"),
    ("T60.0", "Effet toxique des insecticides organophosphorés et carbamates"),
    ("T60.4", "Effet toxique des rodenticides"),
    ("T63.0", "Effet toxique du venin de serpent"),
    ("T63.2", "Effet toxique du venin de scorpion"),
    ("T67.0", "Coup de chaleur et insolation"),
    ("T75.1", "Noyade et submersion non mortelle"),
    ("T78.2", "Choc anaphylactique, sans précision"),
    # XX. External causes
    ("V89.2", "Accident de la circulation impliquant un véhicule à moteur, sans précision"),
    ("W19", "Chute, sans précision"),
    ("W54", "Morsure ou coup donné par un chien"),
    ("X20", "Contact avec des serpents et lézards venimeux"),
    ("X22", "Contact avec des scorpions"),
    ("X84", "Lésion auto-infligée par un moyen non précisé"),
    ("Y09", "Agression par un moyen non précisé"),
    # XXI. Factors influencing health status and contact with health services
    ("Z00.0", "Examen médical général"),
    ("Z00.1", "Examen de routine de santé de l'enfant"),
    ("Z20.3", "Sujet en contact avec et exposé à la rage"),
    ("Z21", "Infection asymptomatique par le virus de l'immunodéficience humaine [VIH]"),
    ("Z27.1", "Nécessité d'une vaccination associée diphtérie-tétanos-coqueluche [DTC]"),
    ("Z30.0", "Conseils et avis généraux concernant la contraception"),
    ("Z30.1", "Mise en place d'un dispositif contraceptif intra-utérin"),
    ("Z34.9", "Surveillance d'une grossesse normale, sans précision"),
    ("Z35.9", "Surveillance d'une grossesse à haut risque, sans précision"),
    ("Z36.9", "Dépistage prénatal, sans précision"),
    ("Z37.0", "Naissance unique, enfant vivant"),
    ("Z38.0", "Enfant unique, né à l'hôpital"),
    ("Z39.2", "Surveillance post-partum de routine"),
    ("Z49.1", "Dialyse extracorporelle"),
    ("Z51.1", "Séance de chimiothérapie pour tumeur"),
    ("Z76.0", "Délivrance d'un renouvellement d'ordonnance"),
    ("Z95.0", "Présence d'un stimulateur cardiaque"),
    ("Z99.2", "Dépendance envers une dialyse rénale"),
    # XXII. Codes for special purposes
    ("U07.1", "COVID-19, virus identifié"),
    ("U07.2", "COVID-19, virus non identifié"),
)

COMPACT_LIST: Mapping[str, str] = MappingProxyType(dict(_ENTRIES))

# A letter, two digits, then optionally a dot and one or two digits (WHO uses one;
# national modifications such as the French CIM-10 FR extend to two).
CODE_PATTERN = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9]{1,2})?$")
_LOOSE = re.compile(r"^([A-Z][0-9]{2})\.?([0-9]{0,2})$")

# (first code, last code, title) of the WHO chapters, by category (letter + 2 digits).
CHAPTERS: tuple[tuple[str, str, str], ...] = (
    ("A00", "B99", "Certaines maladies infectieuses et parasitaires"),
    ("C00", "D48", "Tumeurs"),
    ("D50", "D89", "Maladies du sang et des organes hématopoïétiques"),
    ("E00", "E90", "Maladies endocriniennes, nutritionnelles et métaboliques"),
    ("F00", "F99", "Troubles mentaux et du comportement"),
    ("G00", "G99", "Maladies du système nerveux"),
    ("H00", "H59", "Maladies de l'œil et de ses annexes"),
    ("H60", "H95", "Maladies de l'oreille et de l'apophyse mastoïde"),
    ("I00", "I99", "Maladies de l'appareil circulatoire"),
    ("J00", "J99", "Maladies de l'appareil respiratoire"),
    ("K00", "K93", "Maladies de l'appareil digestif"),
    ("L00", "L99", "Maladies de la peau et du tissu cellulaire sous-cutané"),
    ("M00", "M99", "Maladies du système ostéo-articulaire, des muscles et du tissu conjonctif"),
    ("N00", "N99", "Maladies de l'appareil génito-urinaire"),
    ("O00", "O99", "Grossesse, accouchement et puerpéralité"),
    ("P00", "P96", "Certaines affections dont l'origine se situe dans la période périnatale"),
    ("Q00", "Q99", "Malformations congénitales et anomalies chromosomiques"),
    ("R00", "R99", "Symptômes, signes et résultats anormaux non classés ailleurs"),
    ("S00", "T98", "Lésions traumatiques, empoisonnements et certaines autres conséquences"),
    ("V01", "Y98", "Causes externes de morbidité et de mortalité"),
    ("Z00", "Z99", "Facteurs influant sur l'état de santé et motifs de recours aux services"),
    ("U00", "U85", "Codes d'utilisation particulière"),
)


class CodeStatus(StrEnum):
    KNOWN = "known"
    NOT_IN_LIST = "not_in_list"
    INVALID = "invalid"

    @property
    def label(self) -> str:
        return {
            "known": "Code de la liste abrégée",
            "not_in_list": "Format valide, code absent de la liste abrégée",
            "invalid": "Code invalide",
        }[self]


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on a typed code; ``code`` is the normalised form when valid."""

    text: str
    code: str | None
    status: CodeStatus
    label: str | None
    message: str

    @property
    def valid(self) -> bool:
        return self.status != CodeStatus.INVALID

    @property
    def known(self) -> bool:
        return self.status == CodeStatus.KNOWN


def normalise(text: str) -> str | None:
    """Upper case, no spaces, dagger/asterisk marks dropped, dot inserted: ``k359`` → ``K35.9``.

    None when the text cannot be an ICD-10 code.
    """
    cleaned = text.strip().upper().replace(" ", "").rstrip("*+†")
    match = _LOOSE.match(cleaned)
    if not match:
        return None
    category, sub = match.groups()
    return f"{category}.{sub}" if sub else category


def check_code(text: str) -> CodeCheck:
    """Whether ``text`` is an ICD-10 code, and whether the compact list knows it."""
    code = normalise(text)
    if code is None or not CODE_PATTERN.match(code):
        return CodeCheck(
            text,
            None,
            CodeStatus.INVALID,
            None,
            f"« {text.strip()} » n'est pas un code CIM-10 valide (lettre, deux chiffres, "
            "puis éventuellement un point et un ou deux chiffres, par exemple K35.8)",
        )
    label = COMPACT_LIST.get(code)
    if label is not None:
        return CodeCheck(text, code, CodeStatus.KNOWN, label, label)
    # A subdivision of a listed category (e.g. I10.0) still tells what it is about.
    parent = COMPACT_LIST.get(code.split(".")[0])
    return CodeCheck(
        text,
        code,
        CodeStatus.NOT_IN_LIST,
        None,
        "format valide, code absent de la liste abrégée"
        + (f" (catégorie {code.split('.')[0]} : {parent})" if parent else ""),
    )


def label(code: str) -> str | None:
    normalised = normalise(code)
    return COMPACT_LIST.get(normalised) if normalised else None


def chapter(code: str) -> str | None:
    """The WHO chapter title of a code (None outside the WHO ranges, e.g. U90 or K95).

    Informative only: a code of valid format outside these ranges (a national
    extension) is still accepted by :func:`check_code`.
    """
    category = code[:3].upper()
    for first, last, title in CHAPTERS:
        if first <= category <= last:
            return title
    return None


def search(text: str, limit: int = 20) -> list[tuple[str, str]]:
    """Compact-list entries whose code starts with, or whose label contains, ``text``.

    Accent- and case-insensitive (``diabete`` finds ``Diabète``); code matches first.
    """
    query = search_key(text)
    if not query:
        return []
    compact = query.replace(" ", "").upper()
    by_code = [(c, lab) for c, lab in _ENTRIES if c.replace(".", "").startswith(compact)]
    words = query.split()
    by_label = [
        (c, lab)
        for c, lab in _ENTRIES
        if (c, lab) not in by_code and all(w in _SEARCH_KEYS[c] for w in words)
    ]
    return (by_code + by_label)[:limit]


_SEARCH_KEYS: Mapping[str, str] = MappingProxyType({c: search_key(lab) for c, lab in _ENTRIES})

"""Fact spans: where in a sentence the asked-for fact stands — an amount, a date, a name
or group, a reason clause — and which one answers when a sentence holds several."""

from __future__ import annotations

import re

from ..analysis import _lexicon, fold, stem, stopwords
from .question import YEAR, asked_noun, asked_preposition, asks_money, counted_word, question_verb, stems

MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
_WORD_NUMBERS = (
    "twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|zestien|"
    "zeventien|achttien|negentien|twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|"
    "honderd|duizend|tienduizend|honderdduizend"
)
QUALIFIER = (
    r"(?:(?:ruim|circa|ca\.|ongeveer|bijna|zo'n|zo’n|maximaal|minimaal|ten minste|tenminste|gemiddeld|"
    r"meer dan|minder dan|langer dan|korter dan|hoger dan|lager dan|tot|vanaf)\s+)?"
)
NUMBER = re.compile(
    QUALIFIER
    + r"(?:€\s?)?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)(?:\s?(?:miljoen|mln\.?|miljard|mld\.?|procent|%))?"
    + rf"|{QUALIFIER}\b(?:{_WORD_NUMBERS})\b(?:\s?(?:miljoen|miljard|procent))?",
    re.I,
)
DATE = re.compile(
    r"(?:(?:sinds|vanaf|per|op|tot|met ingang van|eind|begin|medio|halverwege|in)\s+)?"
    rf"(?:\d{{1,2}}\s+(?:{MONTHS})(?:\s+(?:19|20)\d{{2}})?"
    rf"|(?:{MONTHS})\s+(?:19|20)\d{{2}}"
    r"|(?:19|20)\d{2}\s*(?:[-–/]|tot en met|t/m|tot)\s*(?:19|20)\d{2}"
    r"|(?:19|20)\d{2})\b",
    re.I,
)
# A name: capitalised words (with "van", "de" ... inside), acronyms and CamelCase words.
NAME = re.compile(r"\b[A-Z][\w’'&-]*!?(?:(?:\s+(?:van|de|der|den|voor|en|het|op)){0,2}\s+[A-Z][\w’'&-]*!?)*")
# People a "voor wie"/"bij wie" question may ask for: a group, with what qualifies it.
GROUP = re.compile(
    r"\b(?:inwoners|jongeren|jongvolwassenen|ouderen|kinderen|jeugdigen|mensen|gezinnen|ouders|statushouders|"
    r"slachtoffers|cliënten|burgers|werkzoekenden|mantelzorgers|vrijwilligers|huishoudens|nieuwkomers|"
    r"bewoners|dak- en thuislozen|daklozen|partners|partijen|organisaties|aanbieders|instellingen|professionals"
    r"|werkgevers|scholen|huisartsen|wijkteams|corporaties|vrijwilligersorganisaties|burgemeester|wethouders?"
    r"|kinderrechter|rechter|gemeenteraad|gemeenteraden|college|kabinet|minister|rijk|consulenten?|coaches"
    r"|medewerkers|jeugdbescherming|wijkteam|raad|gemeenten)\b"
    r"(?:\s+(?:ouder|jonger|van|met|zonder|in|uit|tot|tussen|onder|boven)\b(?:\s+(?!die\b)[^\s,.;:()]+){1,3})?",
    re.I,
)
# Words a group's qualifier does not end on ("inwoners van Maassluis door een" → "inwoners van Maassluis").
_GROUP_TRAIL = frozenset("door een de het en of voor van met in op te aan om dat als zoals bij naar".split())
# The relative clause that says which of them, when it ends the sentence or a clause: "mensen die
# structureel overlast veroorzaken in hun eigen woonomgeving." (not "mensen die moeten inburgeren
# ligt ... bij de gemeenten", where the main clause goes on: that one is too long to take).
_WHICH_ONES = re.compile(r"\s+die\b(?:\s+[^\s,.;:()]+){1,8}(?=\s*(?:[,.;:]|$))")


def _group_end(sentence: str, start: int, end: int, clause: bool) -> int:
    """``end`` moved back over function words the qualifier's few words happened to catch, and
    on over the relative clause that says which of the group (``clause``: "voor wie" asks it)."""
    while (m := re.search(r"\s+(\S+)$", sentence[start:end])) and m.group(1).lower() in _GROUP_TRAIL:
        end = start + m.start()
    if clause and (rel := _WHICH_ONES.match(sentence, end)):
        end = rel.end()
    return end
DEMONYM = re.compile(r"[A-Z]\w+(?:aren|ers|ezen)")
QUOTED = re.compile(r"[‘“\"]([^‘’“”\"]{3,80})[’”\"]")
REASON = re.compile(
    r"\b(?:omdat|doordat|vanwege|dankzij|namelijk|als gevolg van|door|daardoor|waardoor|want|oorzaak|oorzaken|reden)\b",
    re.I,
)
# Causes and purposes in a sentence: "doordat", "als gevolg van", "ligt buiten de
# invloedssfeer", "zodat", "om ... te", "is van belang", "is noodzakelijk".
CAUSE = re.compile(
    r"\b(?:omdat|doordat|vanwege|dankzij|namelijk|als gevolg van|ten gevolge van|door|want|oorzaak|oorzaken|reden"
    r"|komt door|ligt (?:\w+ )*buiten|invloedssfeer|zodat|om (?:\w+ ){0,8}te|zo kunnen|met als doel|ten behoeve van"
    r"|(?:is|zijn) (?:\w+ )?(?:belangrijk|noodzakelijk|nodig|van belang)|noodzakelijke|problemen|tekort|toename|stijging"
    r"|groei|gestegen|stijgt|stegen|nam(?:en)? toe|kent)\b",
    re.I,
)
# A sentence that gives the consequence of the one before: the cause sits in that one.
CONSEQUENCE = re.compile(
    r"^(?:daarom|daardoor|hierdoor|waardoor|dit (?:leidt|leidde|zorgt|zorgde|betekent)|dat (?:leidt|zorgt|betekent)"
    r"|om die reden|vandaar|als gevolg (?:hiervan|daarvan)|door (?:deze|dit|die|de) (?:\w+ )?(?:ontwikkeling|ontwikkelingen|"
    r"oorzaken|omstandigheden|factoren|situatie|problemen|redenen))\b|\b(?:daarom|daardoor|hierdoor)\b",
    re.I,
)
# What something is or does: "X is een ...", "houdt in", "is bedoeld voor", "heeft als doel",
# "Het bieden van ..." (a task under its organisation's heading).
DEFINING = re.compile(
    r"\b(?:is|zijn|was|waren) (?:een|de|het|bedoeld|gericht|ingesteld|opgericht|bestemd)\b|\bhoudt in\b|\bhouden in\b"
    r"|\bbetekent\b|\bbetreft\b|\bbestaat uit\b|\bals doel\b|\bhet doel\b|\bdoel is\b|\bgericht op\b"
    r"|\brichten? zich\b|\bzorgt voor\b|\bzorgen voor\b|\bbiedt\b|\bbieden\b|\bhelpt\b|\bhelpen\b"
    r"|\bondersteun\w*\b|\bverzorg\w*\b|\bvoert\b|\bvoeren\b|\bverantwoordelijk\b|\bgaat (?:met|na)\b"
    r"|^het (?:\w+en|uitvoeren|bieden|organiseren) van\b|\bworden? (?:\w+ ){0,6}(?:begeleid|geholpen|ondersteund)\b",
    re.I,
)
# A sentence that says what its subject is: "X is een ...", "Dit is een methodiek ...", "Het
# idee van X is dat ...", "Doel van X is ...", "X houdt in ...", "Het uitvoeren van ..." (a task).
DEFINES = re.compile(
    r"^(?:(?:dit|deze|die|het|dat)\s+(?:is|zijn|was|waren|houdt|betreft|betekent)\b"
    r"|(?:het\s+)?(?:idee|doel|streven|principe)\s+(?:van|is)\b|het\s+(?:(?!(?:is|zijn|was|waren|stond|staat|stonden|wordt|werd|heeft|hebben|had|gaat|ging)\b)[\w-]+,?\s+){0,8}"
    r"[\w-]+en\s+van\b)"
    r"|\b(?:is|zijn|was|waren)\s+(?:een|voor|bedoeld|gericht|bestemd|opgericht|ingesteld)\b|\bhoudt\b.{0,80}\bin\b"
    r"|\bbestaat uit\b|\bheeft (?:als|het) (?:doel|taak|principe|idee)\b|\bmet als doel\b|\bgaat (?:met|over)\b",
    re.I,
)
# What someone does about something: "zetten in", "nemen deel aan een training", "bieden".
ACTION = re.compile(
    r"\b(?:zet(?:ten)?|inzet(?:ten)?|ingezet|neemt|nemen|bied(?:t|en)|start(?:en|te|ten)?|ontwikkel\w*|organiseer\w*"
    r"|organiseren|werk(?:t|en)|pak(?:t|ken)|aanpak|training|begeleiding|begeleid\w*|ondersteun\w*|help(?:t|en)|voer(?:t|en)"
    r"|investe\w+|stimule\w+|versterk\w*|richt(?:en)?|zorg(?:t|en)|verruim\w*|breid\w*|maatregel\w*|regeling\w*)\b",
    re.I,
)


def _norm_number(s: str) -> str:
    return re.sub(r"[^\d,]", "", s).replace(",", ".")


def words_near(sentence: str, start: int, end: int, n: int = 4) -> str:
    """The words around a span: two before it, ``n`` after (Dutch: "387 flexwoningen", "€ 1,4 miljoen in 2020")."""
    before = sentence[:start].split()[-2:]
    after = sentence[end:].split()[:n]
    return " ".join(before + after)


# Two figures that make one answer: a range ("18 tot en met 23 jaar") or a repeat ("3 keer 3 jaar").
_JOIN = re.compile(r"\s*(?:tot en met|t/m|tot|[-–]|à|keer|maal)\s*")
_UNIT_AFTER = re.compile(r"\s+(?:jaar|jaren|maanden|maand|weken|week|dagen|dag|uur|uren)\b")


def _joined(spans: list[tuple[int, int]], sentence: str, unit: str | None) -> list[tuple[int, int]]:
    """Figures joined by "tot en met", "t/m", "-", "à" or "keer" as one span, with the unit of
    duration after the last one when a duration is asked ("hoe lang": "3 keer 3 jaar")."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and _JOIN.fullmatch(sentence[out[-1][1] : a]):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    joined = []
    for a, b in out:
        m = _UNIT_AFTER.match(sentence, b)
        ranged = bool(_JOIN.search(sentence[a:b]))
        joined.append((a, m.end()) if m and (unit == "duration" or ranged) else (a, b))
    return joined


def _amounts(sentence: str, question: str) -> list[re.Match[str]]:
    qnums = {_norm_number(m.group(0)) for m in NUMBER.finditer(question) if _norm_number(m.group(0))}
    qf = fold(question)
    out = []
    for m in NUMBER.finditer(sentence):
        text = m.group(0)
        bare = re.sub(rf"^{QUALIFIER}", "", text, flags=re.I).strip()
        if not bare:
            continue
        after = sentence[m.end() : m.end() + 12].lower()
        if re.fullmatch(r"(?:19|20)\d{2}", bare) or re.match(rf"\s*(?:{MONTHS})\b", after):
            continue  # a year or the day of a date
        if re.match(r"\s*[-–]\s*(?:19|20)\d{2}", sentence[m.end() :]) and re.fullmatch(r"(?:19|20)\d{2}", bare[:4]):
            continue  # a period "2020-2023"
        num = _norm_number(bare)
        if (num and num in qnums) or (not num and fold(bare) in qf):
            continue  # the question already names it: context, not the answer
        out.append(m)
    return out


# A question that asks for a day ("op welke datum", "per welke datum"), and a date that names one.
_ASKS_DAY = re.compile(r"\bdatum\b")
_DAY = re.compile(rf"\b\d{{1,2}}\s+(?:{MONTHS})\b|\b\d{{1,2}}[-/]\d{{1,2}}[-/]", re.I)


def fact_spans(sentence: str, kind: str | None, question: str) -> list[tuple[int, int]]:
    """Every span in ``sentence`` holding the kind of fact asked for, in text order."""
    if kind == "amount":
        spans = _joined([(m.start(), m.end()) for m in _amounts(sentence, question)], sentence, asked_unit(question))
        if asks_money(question):
            euros = [s for s in spans if "€" in sentence[s[0] : s[1]]]
            spans = euros or [s for s in spans if re.search(r"\d", sentence[s[0] : s[1]])]
        return spans
    if kind == "date":
        qyears = set(YEAR.findall(question))
        day = bool(_ASKS_DAY.search(fold(question)))
        out = []
        for m in DATE.finditer(sentence):
            years = set(YEAR.findall(m.group(0)))
            if years and years <= qyears and not re.search(MONTHS, m.group(0), re.I):
                continue  # only repeats a year the question names
            if day and not _DAY.search(m.group(0)):
                continue  # "op welke datum": a year or a month is not a date ("in 2021 vastgesteld")
            out.append((m.start(), m.end()))
        if not out and re.search(r"\bwanneer\b", fold(question)):
            # "Wanneer zet Velsen gezinsbegeleiding in?" — "... als kinderen én ouders een beperking hebben".
            m = re.search(r"\b(?:als|indien|zodra|wanneer|zolang)\b(?!\s+(?:gevolg|ook|volgt))", sentence)
            if m and m.start() > 0:
                out.append((m.start(), len(sentence.rstrip(". "))))
        return out
    if kind in ("who", "which"):
        names = _who_spans(sentence, question)
        noun = asked_noun(question)
        if noun and re.search(r"(?:en|s)$", noun):
            # "Welke organisaties ...?" asks for all of them: the enumeration that holds the names.
            for a0, b0 in _list_spans(sentence):
                inside = [n for n in names if a0 <= n[0] and n[1] <= b0 and sentence[n[0]].isupper()]
                if len(inside) >= 2:  # from its first name to its last: "TOZO, bedrijfskredieten en de TONK"
                    return [(inside[0][0], inside[-1][1]), *names]
        if noun and len(noun) >= 5:
            names = sorted(names + _compound_spans(sentence, noun, question))
        return names or (_list_spans(sentence) if kind == "which" else [])
    if kind in ("definition", "how"):
        m = (DEFINES.search(sentence) or DEFINING.search(sentence)) if kind == "definition" else ACTION.search(sentence)
        if m:
            return [(m.start(), len(sentence.rstrip(". ")))]
        return []
    if kind == "reason":
        m = REASON.search(sentence)
        if m:
            return [(m.start(), len(sentence.rstrip(". ")))]
        if ":" in sentence[:-1]:  # "Dit betrof een landelijk probleem: het geld ..."
            i = sentence.index(":") + 1
            while i < len(sentence) and sentence[i] == " ":
                i += 1
            return [(i, len(sentence.rstrip(". ")))]
        return []
    return []


def _compound_spans(sentence: str, noun: str, question: str) -> list[tuple[int, int]]:
    """Words whose head is the asked noun, with a year after them: "In welke circulaire ...?" →
    "meicirculaire 2019"; "Uit welke visie ...?" → "regiovisie". Not the question's own words."""
    qwords = set(re.findall(r"\w+", fold(question)))
    out = []
    for m in re.finditer(r"\b[^\W\d_]+\b", sentence):
        w = fold(m.group(0))
        if len(w) > len(noun) + 2 and w.endswith(noun) and w not in qwords:
            year = re.match(r"\s+(?:19|20)\d{2}\b", sentence[m.end() :])
            out.append((m.start(), m.end() + (year.end() if year else 0)))
    return out


def _list_spans(sentence: str) -> list[tuple[int, int]]:
    """An enumeration ("eenzaamheid, integratie en inclusie"): from its first item to its end."""
    m = re.search(r"(?:[^,:;]{3,60}, ){1,}[^,:;]{3,60} en [^,.;:]{3,60}", sentence)
    if m:
        return [(m.start(), m.end())]
    return []


# "Wet inburgering", "Participatiewet", and the social domain's laws by their abbreviation.
_LAW = re.compile(r"\bwet\b|\w+wet$|\b(?:wmo|wvggz|wzd|bopz|wlz|zvw|wsnp|wgs)\b")


def _who_spans(sentence: str, question: str) -> list[tuple[int, int]]:
    """Names (organisations, places, laws), quoted titles and groups of people not in the question."""
    lex = _lexicon()
    qwords = set(re.findall(r"\w+", fold(question)))
    qstems = stems(question)

    def known(word: str) -> bool:  # the question holds it, in this or another form, or as a compound's first part
        if word in qwords or bool(stems(word) and stems(word) <= qstems):
            return True
        if len(word) >= 4 and any(len(w) >= len(word) + 4 and w.startswith(word) for w in qwords):
            return True  # "Rijk": "rijksmiddelen"
        return any(len(w) >= 6 and len(word) >= len(w) + 4 and word.startswith(w) for w in qwords)  # "Inburgeringsvoorzieningen"

    noun = asked_noun(question) or ""
    asks_law = bool(re.search(r"(?:wet|wetten|wetgeving|regeling|regelingen|verordening)$", noun))
    out = []
    for m in NAME.finditer(sentence):
        start, name = m.start(), m.group(0)
        first = name.split()[0]
        at_start = not re.search(r"\w", sentence[:start])
        common = lex.get(fold(first), 0.0) >= 3.0 or fold(first) in stopwords()
        if at_start and common and not re.search(r"[A-Z]", first[1:]):
            # A capitalised sentence opener is no name ("Het", "Aanvullend"); "De GGD" keeps "GGD".
            rest = name[len(first) :].lstrip()
            start, name = start + name.index(rest) if rest else start, rest
        # Leading words the question holds are its own noun, not the name:
        # "MVS-uitvoeringsorganisaties Stroomopwaarts en ROGplus" → "Stroomopwaarts en ROGplus".
        while (lead := re.match(r"\S+\s+", name)) and all(known(w) for w in re.findall(r"\w+", fold(lead.group(0)))):
            start, name = start + lead.end(), name[lead.end() :]
        words = [w for w in re.findall(r"\w+", fold(name)) if w not in stopwords()]
        if not words or sum(known(w) for w in words) >= 0.6 * len(words) or re.fullmatch(MONTHS, words[0]):
            continue  # the question's own name, perhaps with its abbreviation: "Wet verplichte ggz (Wvggz)"
        if DEMONYM.fullmatch(name):
            continue  # "Velsenaren", "Vlaardingers": inhabitants, not an organisation
        if not asks_law and _LAW.search(fold(name)):
            continue  # "Participatiewet", "Wet gemeentelijke schuldhulpverlening": a law does nothing itself
        if sentence[:start].endswith("("):
            lead = [w for w in re.findall(r"\w+", fold(sentence[: start - 1])) if w not in stopwords()][-3:]
            if lead and sum(known(w) for w in lead) >= 0.6 * len(lead):
                continue  # the abbreviation of the question's own name: "Wet verplichte ggz (Wvggz)"
            if not asks_law and any(_LAW.search(w) for w in fold(sentence[: start - 1]).split()[-6:]):
                continue  # a law's abbreviation: "Wet bijzondere opnemingen psychiatrische ziekenhuizen (Bopz)"
        out.append((start, start + len(name)))
    for m in QUOTED.finditer(sentence):  # ‘Handen uit de mouwen’
        qw = re.findall(r"\w+", fold(m.group(1)))
        if qw and sum(known(w) for w in qw) < 0.6 * len(qw) and (asks_law or not _LAW.search(fold(m.group(1)))):
            out.append((m.start(1), m.end(1)))
    if re.search(r"\bwie\b|\bwelke?\b", fold(question)):
        other_sort = bool(noun and GROUP.fullmatch(noun))  # "Welke huisartsen ...?": "instellingen" is another sort
        for_whom = asked_preposition(question) == "voor"
        for m in GROUP.finditer(sentence):
            if not known(fold(m.group(0).split()[0])) and not other_sort:
                out.append((m.start(), _group_end(sentence, m.start(), m.end(), for_whom)))
    # A name inside a longer one ("Handen" in "Handen uit de mouwen") is the longer one.
    return sorted({a for a in out if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in out)})


# Municipalities named as such ("de gemeenten Maassluis, Vlaardingen en Schiedam"): who does
# something *for* them is rarely the gemeente itself.
_GEMEENTE_BEFORE = re.compile(r"\bgemeenten?\s+(?:[A-Z][\w-]*(?:\s*,\s*|\s+en\s+))*$")
_ASKS_PLACE = re.compile(r"\b(?:gemeenten?|regio'?s?|steden|stad|plaats(?:en)?|wijk(?:en)?|waar)\b")


def name_fit(sentence: str, span: tuple[int, int], question: str) -> tuple[bool, bool, bool, bool]:
    """How well a name or group in ``sentence`` fits a "wie"/"welke" question, best first:

    - not a municipality named as one, unless a place is asked ("de gemeenten Maassluis,
      Vlaardingen en Schiedam" hand a task "aan Stroomopwaarts");
    - the one who acts: next to the question's own verb ("voert Stroomopwaarts ... uit",
      "RegioRijder verzorgt", "heeft Stroomopwaarts ... geformuleerd"), or after "door" or "bij"
      ("ligt ... bij de gemeenten", "overgenomen door de jeugdbescherming"), not "van mensen die
      moeten inburgeren";
    - of the asked sort: a group of people for "voor wie" or "welke doelgroep", a name otherwise
      ("IJmond Werkt!", not "mensen", for "wie begeleidt ...");
    - not inside the phrase the question repeats ("Wmo" in "verzorgt het Wmo collectief vervoer").
    """
    q = fold(question)
    named = bool(_GEMEENTE_BEFORE.search(sentence[: span[0]])) or bool(
        re.fullmatch(r"gemeenten?", fold(sentence[span[0] : span[1]])) and re.match(r"\s+[A-Z]", sentence[span[1] :])
    )
    gemeente = named and not _ASKS_PLACE.search(q)
    noun = asked_noun(question)
    want_group = asked_preposition(question) == "voor" or bool(noun and GROUP.fullmatch(noun))
    is_group = bool(GROUP.match(sentence[span[0] : span[1]])) and not sentence[span[0]].isupper()
    verb = question_verb(question)
    before_words = fold(sentence[: span[0]]).split()
    near = False
    if verb:
        key = stem(verb)[:5]
        around = before_words[-2:] + fold(sentence[span[1] :]).split()[:2]
        near = any(w.startswith(key) or stem(w).startswith(key) for w in around)
    else:  # "Wie heeft ... geformuleerd?" — "heeft Stroomopwaarts ... geformuleerd": the subject after the verb
        aux = question_verb(question, aux=True)
        near = aux is not None and before_words[-1:] == [aux]
    qstems = stems(question)
    before = [w for w in sentence[: span[0]].split() if fold(w) not in stopwords()][-1:]
    after = [w for w in sentence[span[1] :].split() if fold(w) not in stopwords()][:1]
    inside = bool(before and after and qstems & stems(before[0]) and qstems & stems(after[0])) and not near
    agent = bool(re.search(r"\b(?:door|bij)\s+(?:\w+\s+){0,2}$", fold(sentence[: span[0]])))
    return (not gemeente, near or agent, is_group == want_group, not inside)


# Groups of people (not of organisations: "partijen", "aanbieders", "scholen" are GROUP too).
_PEOPLE_GROUP = re.compile(
    r"(?:inwoners|jongeren|jongvolwassenen|ouderen|kinderen|jeugdigen|mensen|gezinnen|ouders|statushouders|slachtoffers"
    r"|cliënten|burgers|werkzoekenden|mantelzorgers|vrijwilligers|huishoudens|nieuwkomers|bewoners|daklozen|dak-)$"
)


# A person asked by the office they hold: "wie is de wethouder ...", "welke burgemeester".
_ROLE = re.compile(
    r"\b(?:wie (?:is|was|zijn|waren) (?:[\w-]+ ){0,3}?|welke )"
    r"(wethouders?|burgemeesters?|directeur(?:en|s)?|voorzitters?|ministers?|staatssecretaris(?:sen)?|contactpersonen"
    r"|contactpersoon|coördinatoren|coördinator|ambassadeurs?)\b"
)


def sort_fits(sentence: str, span: tuple[int, int], question: str) -> bool:
    """Whether the name or group at ``span`` is of the sort a "wie"/"welke" question asks for.

    - A person asked by office ("wie is de wethouder") is named with it: the office stands
      within three words of the name ("wethouder Jan de Vries"), else the name is something else
      (a plan, a table row, a project).
    - A group of people is no answer when the question names another sort after "welke"
      ("welke welzijnsorganisatie", "welke wijk", "welke vervoerder": "inwoners" is none of
      those). Names and groups of organisations can be.
    """
    role = _ROLE.search(fold(question))
    if role:
        office = role.group(1)[:7]
        around = fold(sentence[: span[0]]).split()[-3:] + fold(sentence[span[0] : span[1]]).split()[:2] + fold(sentence[span[1] :]).split()[:3]
        if not any(w.startswith(office) for w in around):
            return False
    said = fold(sentence[span[0] : span[1]]).split()
    if not said or not _PEOPLE_GROUP.match(said[0]) or sentence[span[0]].isupper():
        return True
    noun = asked_noun(question)
    if noun is None or asked_preposition(question) == "voor":
        return True
    return bool(_PEOPLE_GROUP.match(noun) or re.search(r"(?:groep|groepen|personen|leden)$", noun))


def name_order(sentence: str, span: tuple[int, int], question: str) -> tuple:
    """Sort key of a name or group as the answer to a "wie"/"welke" question (higher is
    better): not a municipality named as one, then ``typed_rank``, then the rest of ``name_fit``."""
    fit = name_fit(sentence, span, question)
    return fit[0], typed_rank(sentence, span, question), fit[1:]


def typed_rank(sentence: str, span: tuple[int, int], question: str) -> int:
    """How clearly a name in ``sentence`` is marked as the kind of answer asked: 2 when it
    follows the question's preposition ("naar de omliggende gemeenten" for "naar wie"), 1 when
    it follows the noun after "welke" ("centrumgemeente Haarlem" for "welke centrumgemeente"), else 0."""
    before = fold(sentence[: span[0]]).split()
    prep = asked_preposition(question)
    if prep and prep in before[-4:]:
        return 2
    noun = asked_noun(question)
    if noun and len(noun) >= 4:
        key = stem(noun)[:10]
        first = fold(sentence[span[0] : span[1]]).split()[:1]
        compound = bool(first) and len(first[0]) > len(noun) + 2 and first[0].endswith(noun)  # "meicirculaire"
        return 1 if compound or any(key in w for w in before[-3:]) else 0
    return 0


def is_typed(sentence: str, span: tuple[int, int], question: str) -> bool:
    return typed_rank(sentence, span, question) > 0


# The unit a "hoe lang", "hoe vaak" or "welk percentage" question wants after its number.
_UNITS = {
    "duration": re.compile(r"^\s*(?:\w+\s+)?(?:jaar|jaren|maanden|maand|weken|week|dagen|dag|uur|uren|kwartaal|kwartalen)\b", re.I),
    "frequency": re.compile(r"^\s*(?:\w+\s+)?(?:keer|maal)\b", re.I),
    "percentage": re.compile(r"^\s*(?:%|procent|percent)", re.I),
}


def asked_unit(question: str) -> str | None:
    """"duration" for "hoe lang", "frequency" for "hoe vaak", "percentage" for "welk percentage"/"hoeveel procent"."""
    q = fold(question)
    if re.search(r"\bhoe ?lang\b|\bhoeveel (?:jaar|jaren|maanden|weken|dagen)\b", q):
        return "duration"
    if re.search(r"\bhoe ?vaak\b|\bhoeveel (?:keer|maal)\b", q):
        return "frequency"
    if re.search(r"\bwelk percentage\b|\bhoeveel procent\b", q):
        return "percentage"
    return None


def has_unit(sentence: str, span: tuple[int, int], unit: str) -> bool:
    """The number at ``span`` carries ``unit``: "3 keer 3 jaar", "1 à 2 maal per jaar", "120%"."""
    said = sentence[span[0] : span[1]]
    if unit == "percentage" and re.search(r"%|procent", said, re.I):
        return True
    last = re.search(r"\d(?!.*\d)|\b(?:" + _WORD_NUMBERS + r")\b(?!.*\b(?:" + _WORD_NUMBERS + r")\b)", said, re.I)
    if last and _UNITS[unit].match(said[last.end() :]):
        return True  # the unit is part of the span: "3 keer 3 jaar"
    return bool(_UNITS[unit].match(sentence[span[1] :]))


def fact_span(sentence: str, kind: str | None, question: str) -> tuple[int, int] | None:
    """Offsets in ``sentence`` of the fact the question asks for, if one is there.

    With several amounts or dates, the one whose neighbouring words share most with the
    question wins ("hoeveel klaslokalen" → "10", not "387", in "387 flexwoningen, een
    school met 10 klaslokalen"); ties go to the first. With several names, the first
    that is not inside the phrase the question repeats wins ("RegioRijder", not "Wmo",
    in "RegioRijder verzorgt het Wmo collectief vervoer" for "wie verzorgt het
    collectief vervoer?").
    """
    spans = fact_spans(sentence, kind, question)
    if not spans:
        return None
    if len(spans) == 1 or kind == "reason":
        return spans[0]
    qstems = stems(question) | set(YEAR.findall(question))
    if kind in ("who", "which"):
        # "Naar wie ...?": the name after "naar" ("van Haarlem naar de omliggende gemeenten");
        # "Welke onderwijsinstellingen ...?": the name after that noun ("onderwijsinstellingen Albeda en Lentiz").
        return max(spans, key=lambda s: (name_order(sentence, s, question), -s[0]))

    counted = stems(counted_word(question) or "")

    unit = asked_unit(question) if kind == "amount" else None

    def agree(s: tuple[int, int]) -> tuple[bool, bool, int]:
        near = words_near(sentence, *s)
        right_after = " ".join(sentence[s[1] :].split()[:2])
        fits = unit is None or has_unit(sentence, s, unit)
        return fits, bool(counted & stems(right_after)), len(qstems & (stems(near) | set(YEAR.findall(near))))

    return max(spans, key=lambda s: (agree(s), -s[0]))

"""Answers: question typing and fact spans on real report sentences, then `ask` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdsearch.answer import asks_money, fact_span, question_type
from sdsearch.answer.question import asked_noun, is_keyword_query
from sdsearch.answer.scoring import leans_back
from sdsearch.answer.tables import choose_column, header_of, is_header, row_cells, statement

from conftest import ROOT


def span_of(sentence: str, question: str) -> str | None:
    s = fact_span(sentence, question_type(question), question)
    return sentence[s[0] : s[1]] if s else None


# --- what a question asks for -----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("hoeveel flexwoningen telt Mrija?", "amount"),
        ("Hoe veel mensen hebben een bijstandsuitkering?", "amount"),
        ("Wat kost de Wmo in Velsen?", "amount"),
        ("Wat is het budget voor schuldhulpverlening?", "amount"),
        ("Voor hoe lang gaat Velsen een contract aan?", "amount"),
        ("Wanneer treedt de nieuwe Wet inburgering in werking?", "date"),
        ("In welk jaar is beschermd wonen aanbesteed?", "date"),
        ("Welke periode beslaat de Woonzorgvisie?", "date"),
        ("Wie verzorgt het Wmo collectief vervoer?", "who"),
        ("Welke organisatie stelt de medische noodzaak vast?", "who"),
        ("Hoe heet het coalitieakkoord?", "who"),
        ("Waarom stijgen de Wmo-kosten?", "reason"),
        ("Wat doet de welzijnscoach?", "definition"),
        ("Wat houdt de Doorbraakmethode in?", "definition"),
        ("Op welke manier verruimt de nieuwe ggz-wet de mogelijkheden?", "how"),
        ("In welke wijk startte Maassluis een wijkaanpak?", "which"),
        ("Door wie wordt het meldpunt uitgevoerd?", "who"),
        ("Voor welke jaren geeft het kabinet extra geld?", "date"),
        ("beschermd wonen velsen", None),
        # Keyword input that names the figure it wants asks an amount; "budget" may name a topic.
        ("tarief huishoudelijke hulp velsen", "amount"),
        ("eigen bijdrage wmo bedrag", "amount"),
        ("samenzijnwijmaassluis budget", None),
    ],
)
def test_question_type_names_the_kind_of_fact_asked_for(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("sentence", "question", "name"),
    [
        # The municipalities that hand the task over are not who carries it out (the README's per-gemeente example).
        (
            "De gemeenten Maassluis, Vlaardingen en Schiedam hebben besloten de uitvoering van taken uit de Wet "
            "Inburgering over te dragen aan Stroomopwaarts.",
            "wie voert de Wet inburgering uit?",
            "Stroomopwaarts",
        ),
        # The subject after the question's own verb, also when that verb is "heeft".
        ("Vanaf 2022 voert Stroomopwaarts de nieuwe Wet inburgering uit.", "Wie voert de inburgeringswet uit?", "Stroomopwaarts"),
        (
            "Vanuit de Strategische Visie Werk en Inkomen 2022-2025 heeft Stroomopwaarts voor 2023 hoofdambities geformuleerd.",
            "Wie heeft hoofdambities voor 2023 geformuleerd op het gebied van werk en inkomen?",
            "Stroomopwaarts",
        ),
        # The asked noun leading a name is the question's, not the answer's.
        (
            "Voor een belangrijk deel doen we dit samen met de gemeenten Vlaardingen en Schiedam en onze "
            "MVS-uitvoeringsorganisaties Stroomopwaarts en ROGplus.",
            "Met welke MVS-uitvoeringsorganisaties werkt Maassluis samen?",
            "Stroomopwaarts en ROGplus",
        ),
        # A capitalised opener and the question's own name are no answer; a compound on the asked noun is.
        ("Het WonenPlus in Zonneburcht is hiervoor het voorbeeld.", "Welk WonenPlus-project dient als voorbeeld?", "Zonneburcht"),
        ("Deze extra middelen zijn verwerkt in de meicirculaire 2019.", "In welke circulaire zitten de extra middelen?", "meicirculaire 2019"),
        # The question's own law by its abbreviation, and the first part of the question's compound, are not the answer.
        (
            "Per 1 januari 2020 wordt de ‘Wet verplichte ggz (Wvggz)’ van kracht. Deze wet komt in de plaats van de "
            "‘Wet bijzondere opnemingen psychiatrische ziekenhuizen (Bopz)’.",
            "Welke wet vervangt de Wet verplichte ggz?",
            "Wet bijzondere opnemingen psychiatrische ziekenhuizen (Bopz)",
        ),
        ("We gebruiken hierbij het geld dat wij ontvangen van het Rijk (de POK-middelen).", "Hoe heten de rijksmiddelen?", "POK-middelen"),
        # A law does nothing itself: not the answer to "wie", also not by its abbreviation.
        (
            "Het betreft de uitvoering van de Participatiewet door de gemeenschappelijke regeling Stroomopwaarts.",
            "Wie voert dit uit?",
            "Stroomopwaarts",
        ),
        # The one who acts, after "bij": not the people it is done for.
        (
            "De verantwoordelijkheid voor de begeleiding en ondersteuning van mensen die moeten inburgeren ligt met "
            "deze wet bij de gemeenten.",
            "Wie voert de Wet inburgering uit?",
            "gemeenten",
        ),
    ],
)
def test_the_name_that_answers_a_wie_or_welke_question_is_marked(sentence: str, question: str, name: str) -> None:
    assert span_of(sentence, question) == name


@pytest.mark.parametrize(
    ("sentence", "question", "fact"),
    [
        ("We gaan met deze consortia een contract aan voor 3 keer 3 jaar.", "Voor hoe lang gaat Velsen een contract aan?", "3 keer 3 jaar"),
        ("Zij bieden ondersteuning aan jongeren van 18 tot en met 23 jaar.", "Voor welke leeftijd bieden zij ondersteuning?", "18 tot en met 23 jaar"),
        ("Het bedrag wordt in drie gelijke termijnen over 3 jaren verrekend.", "Over hoeveel jaar wordt het verrekend?", "3 jaren"),
        ("Er komen 387 flexwoningen en een school met 10 klaslokalen.", "Hoeveel klaslokalen krijgt de school?", "10"),
    ],
)
def test_a_range_or_a_repeat_of_figures_is_one_fact(sentence: str, question: str, fact: str) -> None:
    assert span_of(sentence, question) == fact


def test_a_group_asked_voor_wie_is_marked_with_the_clause_that_says_which_of_them() -> None:
    sentence = "De woonvoorziening is bedoeld voor mensen die structureel overlast veroorzaken in hun eigen woonomgeving."
    assert span_of(sentence, "Voor wie is de woonvoorziening bedoeld?") == "mensen die structureel overlast veroorzaken in hun eigen woonomgeving"
    # A qualifier does not end on the words after it; a clause the main clause runs on from is not taken.
    assert span_of("Het fonds is er voor inwoners van Maassluis door een ruimere regeling.", "Voor wie is het fonds?") == "inwoners van Maassluis"
    # ... nor inside a parenthesis it opens.
    brackets = "Het is van belang dat nieuwkomers in Maassluis (arbeidsmigranten, statushouders) ook meedoen."
    assert span_of(brackets, "Voor wie is het van belang?") == "nieuwkomers in Maassluis"
    from sdsearch.answer.spans import fact_spans

    long = "De begeleiding van mensen die moeten inburgeren ligt met deze wet bij de gemeenten."
    spans = [long[a:b] for a, b in fact_spans(long, "who", "Voor wie is de begeleiding?")]
    assert "mensen" in spans and not any(s.startswith("mensen die") for s in spans)


def test_a_group_of_another_sort_does_not_answer_welke_with_a_group_noun() -> None:
    # "Welke huisartsen ...?" wants huisartsen by name; "instellingen" is another sort of party.
    assert span_of("Daarvoor werken we samen met de instellingen.", "Welke huisartsen werken mee?") is None
    assert span_of("Daarvoor werken we samen met de instellingen.", "Met wie werken we samen?") == "instellingen"


def test_the_antwoord_line_states_facts_not_clauses() -> None:
    from sdsearch.render import format_answer
    from sdsearch.types import Answer, AnswerSentence, Hit, Passage

    text = "De Doorbraakmethode is een methodiek waarbij in gezinnen wordt gezocht naar een doorbraak."
    p = Passage("p1", "a.txt", "a.txt", text, 0, len(text), "T")
    sent = (AnswerSentence(text, Hit(p, 1.0, 1), 0, len(text), (21, 60)),)
    clause = Answer("Wat houdt de Doorbraakmethode in?", sent, 0.9, states_fact=False)
    fact = Answer("Wat is de Doorbraakmethode?", sent, 0.9)
    assert clause.span == text[21:60] and clause.fact is None  # still marked in the sentence, not stated
    assert format_answer(clause, w=200).splitlines()[0] == "Antwoord:"
    assert format_answer(fact, w=200).splitlines()[0] == f"Antwoord: {text[21:60]}"


def test_money_questions_are_told_apart_from_counts() -> None:
    assert asks_money("Wat kost Skaeve Huse per jaar?")
    assert asks_money("Hoeveel extra jeugdhulpmiddelen kreeg Vlaardingen?")  # "middelen" inside a compound
    assert not asks_money("Hoeveel flexwoningen telt Mrija?")
    assert asks_money("Hoeveel kun je maximaal krijgen uit het fonds?")  # no noun counted: a sum
    assert asks_money("Hoeveel ontvangt een huishouden?")
    assert not asks_money("Hoeveel jongeren krijgen een uitkering?")


def test_a_name_or_group_answers_only_the_sort_asked() -> None:
    from sdsearch.answer.spans import sort_fits

    def fits(sentence: str, name: str, question: str) -> bool:
        at = sentence.index(name)
        return sort_fits(sentence, (at, at + len(name)), question)

    sentence = "De welzijnscoach gaat met inwoners op zoek naar het verbeteren van hun welzijn."
    assert not fits(sentence, "inwoners", "Welke welzijnsorganisatie levert de welzijnscoach?")
    assert not fits(sentence, "inwoners", "Welke wijk krijgt een wijkaanpak?")
    assert fits(sentence, "inwoners", "Voor wie is de welzijnscoach?")
    assert fits(sentence, "inwoners", "Welke doelgroep helpt de welzijnscoach?")
    assert fits(sentence, "inwoners", "Wie helpt de welzijnscoach?")  # no sort named
    partners = "Dit doen we samen met partijen als Stroomopwaarts en ROGplus."
    assert fits(partners, "Stroomopwaarts", "Welke organisatie voert de regeling uit?")
    assert fits(partners, "partijen", "Welke organisaties werken mee?")  # a group of organisations
    # A person asked by office is named with it; another name is no answer.
    assert not fits("Het Koersdocument MVS Jeugdmodel is vastgesteld.", "Koersdocument MVS Jeugdmodel", "Wie is de wethouder sociaal domein?")
    assert fits("Wethouder Jan de Vries opende het Taalhuis.", "Jan de Vries", "Wie is de wethouder sociaal domein?")
    assert not fits("Zij werkten aan de Woonzorgvisie.", "Woonzorgvisie", "Wie was in 2023 de wethouder sociaal domein?")
    assert question_type("Welke vervoerder voert het vervoersloket uit?") == "who"
    assert question_type("Welk onderzoeksbureau deed het onderzoek?") == "who"
    # A law does nothing itself: "Wmo" is no answer to who delivers the care.
    assert span_of("Vanuit de Wmo zijn we ook verantwoordelijk voor acute logeerzorg.", "Welke zorgaanbieders voeren de logeerzorg uit?") is None


# --- the span that answers, in sentences from corpus/ ------------------------------------

MRIJA = "De wijk telt 387 flexwoningen, een school voor basisonderwijs met 10 klaslokalen en een gymzaal."


def test_amount_span_is_the_number_next_to_the_counted_word() -> None:
    assert span_of(MRIJA, "hoeveel flexwoningen telt Mrija?") == "387"
    assert span_of(MRIJA, "Hoeveel klaslokalen heeft de school in Mrija?") == "10"


def test_amount_span_keeps_its_qualifier_and_thousands_separator() -> None:
    sentence = "In 2022 ontvingen maandelijks gemiddeld 1.350 Velsenaren een bijstandsuitkering."
    assert span_of(sentence, "Hoeveel Velsenaren ontvingen in 2022 een bijstandsuitkering?") == "gemiddeld 1.350"
    assert span_of(
        "En in 2023 hebben we Mrija gerealiseerd, de wijk voor grootschalige opvang van ruim 1000 ontheemde Oekraïners.",
        "Hoeveel Oekraïners worden in Mrija opgevangen?",
    ) == "ruim 1000"


def test_amount_span_skips_years_and_numbers_the_question_names() -> None:
    sentence = "In de meerjarenbegroting 2020-2023 trekken we jaarlijks € 700.000 uit voor investeringen in het sociaal domein."
    assert span_of(sentence, "Hoeveel trekt Vlaardingen in 2020-2023 uit voor investeringen?") == "€ 700.000"
    assert span_of("Het kabinet heeft een armoedeplan opgesteld met 47 acties.", "Hoeveel acties telt het plan?") == "47"


def test_money_question_prefers_the_euro_amount_for_the_asked_year() -> None:
    sentence = "Voor Vlaardingen gaat het om ruim € 1,8 miljoen in 2019 en ongeveer € 1,4 miljoen in zowel 2020 als 2021."
    assert span_of(sentence, "Hoeveel extra jeugdhulpgeld krijgt Vlaardingen in 2019?") == "ruim € 1,8 miljoen"
    assert span_of(sentence, "Hoeveel extra jeugdhulpgeld krijgt Vlaardingen in 2020 en 2021?") == "ongeveer € 1,4 miljoen"
    # "drie jaar" is a number, not money.
    assert span_of("Het kabinet heeft besloten voor drie jaar extra middelen toe te voegen.", "Wat kost het?") is None


def test_written_numbers_count() -> None:
    sentence = "Honderd jongeren worden twee jaar intensief begeleid richting werk."
    assert span_of(sentence, "Hoeveel jongeren worden begeleid richting werk?") == "Honderd"


def test_date_span_is_the_full_date() -> None:
    sentence = "Op 1 januari 2022 treedt de nieuwe Wet Inburgering in werking."
    assert span_of(sentence, "Wanneer treedt de nieuwe Wet inburgering in werking?") == "Op 1 januari 2022"
    assert span_of("Ook hebben we een Woonzorgvisie ouderen 2023-2030 opgesteld.", "Welke periode beslaat de Woonzorgvisie?") == "2023-2030"
    assert span_of("Aan de Broekeroog in Velserbroek ligt sinds 2021 Skaeve Huse.", "Sinds wanneer ligt Skaeve Huse daar?") == "sinds 2021"


def test_a_question_for_a_day_is_not_answered_by_a_year_or_a_month() -> None:
    question = "Op welke datum stelde de raad het uitvoeringsprogramma vast?"
    assert span_of("Het uitvoeringsprogramma is in 2021 door de raad vastgesteld.", question) is None
    assert span_of("De raad stelde het programma in maart 2021 vast.", question) is None
    assert span_of("De raad stelde het programma op 6 juni 2019 vast.", question) == "op 6 juni 2019"
    # "Wanneer" takes a year.
    assert span_of("Het uitvoeringsprogramma is in 2021 door de raad vastgesteld.", "Wanneer is het programma vastgesteld?") == "in 2021"


def test_date_span_does_not_repeat_the_year_in_the_question() -> None:
    sentence = "In 2022 is een start gemaakt met een integrale benadering van de wijk Sluispolder Oost."
    assert span_of(sentence, "Wanneer startte de wijkaanpak in 2022?") is None


def test_who_span_is_the_organisation_not_a_word_of_the_question() -> None:
    sentence = "RegioRijder verzorgt het Wmo collectief vervoer, het leerlingenvervoer en jeugd GGZ-vervoer."
    assert span_of(sentence, "wie verzorgt het collectief vervoer?") == "RegioRijder"
    assert span_of("De GGD voert het meldpunt uit namens de gemeente.", "Wie voert het meldpunt uit?") == "GGD"
    assert span_of("Centrumgemeente Haarlem beheert de WEB-gelden voor onze regio.", "Wie beheert de WEB-gelden?") == "Centrumgemeente Haarlem"


def test_who_span_takes_quoted_titles_and_groups_of_people() -> None:
    sentence = "Met het coalitieakkoord ‘Handen uit de mouwen’ is hiervoor een investering beschikbaar gekomen."
    assert span_of(sentence, "Hoe heet het coalitieakkoord?") == "Handen uit de mouwen"
    group = "Ook inwoners ouder dan 27 jaar kunnen hier gebruik van maken."
    assert span_of(group, "Voor wie is het jongvolwassenfonds verruimd?") == "inwoners ouder dan 27 jaar"


def test_reason_span_starts_at_the_cause() -> None:
    sentence = "Dat komt door personeelstekort, een steeds grotere complexiteit van vraagstukken."
    assert span_of(sentence, "Waarom lukt het Veilig Thuis niet?") == "door personeelstekort, een steeds grotere complexiteit van vraagstukken"
    colon = "Dit betrof een landelijk probleem: het geld dat het Rijk hiervoor beschikbaar stelde bleek onvoldoende."
    assert span_of(colon, "Waarom vond Velsen geen aanbieder?") == "het geld dat het Rijk hiervoor beschikbaar stelde bleek onvoldoende"


def test_keyword_input_is_told_apart_from_questions() -> None:
    assert is_keyword_query("opvang Oekraïense vluchtelingen Vlaardingen")
    assert not is_keyword_query("Wie verzorgt het collectief vervoer?")
    assert not is_keyword_query("wanneer treedt de wet in werking")


def test_the_noun_after_welke_names_what_is_asked() -> None:
    assert asked_noun("In welke wijk startte Maassluis?") == "wijk"
    assert asked_noun("Welke bestaande diensten lopen door?") == "diensten"
    assert asked_noun("Welke vier consortia leveren jeugdhulp?") == "consortia"


def test_a_sentence_that_leans_on_the_one_before() -> None:
    assert leans_back("Deze wet komt in de plaats van de Bopz.")
    assert leans_back("Dat komt door personeelstekort.")
    assert leans_back("Zij zijn intensief betrokken bij het opstellen van de Woonzorgvisie.")
    assert leans_back("Voor Vlaardingen gaat het om ruim € 1,8 miljoen in 2019.")
    assert not leans_back("Het kabinet heeft een armoedeplan opgesteld met 47 acties.")
    assert not leans_back("RegioRijder verzorgt het Wmo collectief vervoer.")


# --- tables: a cell by row label and column header, unit stated ----------------------------

HEADER = "Baten en lasten meerjarig (x € 1.000) 2020 2021 2022 2023"
INDICATORS = "Participatie Bron Vlaardingen 2017 50.000 - 100.000 inw. 2018 Nederland 2018 Vlaardingen 2018"


def test_header_lines_give_column_labels_and_unit() -> None:
    h = header_of(HEADER)
    assert h is not None and h.labels == ("2020", "2021", "2022", "2023") and h.unit == "x € 1.000"
    assert is_header(HEADER) and is_header(INDICATORS)
    r = header_of("Reserves (x € 1.000) 1/1/'20 + - 31/12/'20")
    assert r is not None and r.labels == ("1/1/'20", "+", "-", "31/12/'20")
    assert header_of("Regiovisie op 'Veilig Thuis - MVS' 2015") is None
    assert not is_header("In 2022 en 2023 werken we verder aan de transformatie.")


def test_rows_split_into_label_and_cells() -> None:
    line = "Lasten 137.096 135.097 134.019 132.910"
    row = row_cells(line)
    assert row is not None and row.label == "Lasten"
    assert [line[a:b] for a, b in row.cells] == ["137.096", "135.097", "134.019", "132.910"]
    odd = "Werkloze jongeren (% 16-22 jarigen) Verwey Jonker instituut - Kinderen in Tel 2,16 (2015) 1,47 (2015) 1,52 (2015) g.g.b."
    cells = row_cells(odd)
    assert cells is not None and [odd[a:b] for a, b in cells.cells][-1] == "g.g.b."
    assert row_cells("De wijk telt 387 flexwoningen, een school voor basisonderwijs met 10 klaslokalen.") is None


def test_the_column_is_the_one_the_question_names() -> None:
    h = header_of(HEADER)
    assert h is not None
    assert choose_column(h, "Wat zijn de lasten van het sociaal domein in 2020?", 4) == 0
    assert choose_column(h, "Wat zijn de lasten in 2023?", 4) == 3
    assert choose_column(h, "Wat zijn de lasten in 2024?", 4) is None  # the table has no 2024
    r = header_of("Reserves (x € 1.000) 1/1/'20 + - 31/12/'20")
    assert r is not None
    assert choose_column(r, "Hoe groot was de reserve op 1 januari 2020?", 4) == 0
    assert choose_column(r, "Hoeveel bedragen de reserves eind 2020?", 4) == 3
    ind = header_of(INDICATORS)
    assert ind is not None
    assert choose_column(ind, "Hoeveel banen had Vlaardingen in 2018?", 4, own="Vlaardingen") == 3
    assert choose_column(ind, "Welk percentage Vlaardingse jongeren had in 2018 jeugdhulp?", 4, own="Vlaardingen") == 3
    assert choose_column(ind, "Hoeveel banen waren er in Nederland in 2018?", 4, own="Vlaardingen") == 2
    # The report's own gemeente names the table as much as a column: the column named outright wins.
    assert choose_column(ind, "Hoeveel banen geeft de Vlaardingse tabel voor Nederland in 2018?", 4, own="Vlaardingen") == 2
    assert choose_column(ind, "Wat geeft de Vlaardingse tabel voor gemeenten van 50.000 - 100.000 inw. in 2018?", 4, own="Vlaardingen") == 1


def test_a_cell_is_stated_with_row_column_and_unit() -> None:
    line = "Lasten 137.096 135.097 134.019 132.910"
    row, h = row_cells(line), header_of(HEADER)
    assert row is not None and h is not None
    assert statement(row, h, 0, "137.096") == "Lasten 2020: 137.096 (x € 1.000)"


# --- issue 11: tables, separable verbs, prepositions, units ---------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Wat waren de geraamde lasten van het sociaal domein in Vlaardingen in 2025?", "amount"),
        ("Wat is het saldo van baten en lasten in 2021?", "amount"),
        ("Wat was de stand van de reserve inburgering eind 2020?", "amount"),
        ("Welk deel van de jongeren had jeugdhulp?", "amount"),
        ("Wat is het resultaat van de pilot?", "definition"),  # not a figure
    ],
)
def test_figures_asked_with_wat_are_amounts(question: str, kind: str) -> None:
    assert question_type(question) == kind


def test_a_separable_verb_is_read_with_its_particle() -> None:
    from sdsearch.answer.question import separable_verbs

    assert separable_verbs("Hoeveel voegt Vlaardingen in 2021 toe aan de reserves?") == {"voegt": "toevoegt"}
    assert separable_verbs("Welk bedrag trekt Vlaardingen in 2020 af van de reserve?") == {"trekt": "aftrekt"}
    assert separable_verbs("Waarom namen de kosten toe?") == {"namen": "toenamen"}
    assert separable_verbs("Hoeveel investeert Vlaardingen in de voedselbank?") == {}  # "in de": a preposition
    assert separable_verbs("Wanneer treedt de wet in werking?") == {}


def test_the_answer_comes_with_the_asked_preposition_or_noun() -> None:
    from sdsearch.answer.question import asked_preposition

    assert asked_preposition("Naar wie verschuiven de taken?") == "naar"
    assert asked_preposition("Waarmee werkt Maassluis samen?") == "met"
    assert asked_preposition("Door wie wordt het meldpunt uitgevoerd?") is None  # also "Y voert X uit"
    line = "Het verschuift van centrumgemeente Haarlem naar Velsen en Heemskerk."
    assert span_of(line, "Naar welke gemeenten verschuiven de taken?") == "Velsen en Heemskerk"
    assert span_of(line, "Welke centrumgemeente had de taken?") == "Haarlem"
    line = "Gemeente Maassluis gaat samen met gemeente Vlaardingen, Leerrecht, onderwijsinstellingen Albeda en Lentiz."
    assert span_of(line, "Welke onderwijsinstellingen doen mee aan Next Society?") == "Albeda en Lentiz"


def test_a_plural_welke_question_marks_the_enumeration() -> None:
    line = "Via Stroomopwaarts hebben we de TOZO, bedrijfskredieten en de TONK verstrekt aan inwoners."
    assert span_of(line, "Welke regelingen verstrekte Maassluis via Stroomopwaarts?") == "TOZO, bedrijfskredieten en de TONK"


def test_hoe_lang_and_hoe_vaak_want_their_unit() -> None:
    from sdsearch.answer.spans import asked_unit, has_unit

    assert asked_unit("Hoe lang lopen de contracten?") == "duration"
    assert asked_unit("Hoe vaak komt de werkgroep bijeen?") == "frequency"
    assert asked_unit("Welk percentage van de jongeren had jeugdhulp?") == "percentage"
    assert asked_unit("Hoeveel flexwoningen telt Mrija?") is None
    line = "We sloten contracten af met 4 partijen voor 3 jaar."
    four, three = line.index("4"), line.index("3")
    assert not has_unit(line, (four, four + 1), "duration")
    assert has_unit(line, (three, three + 1), "duration")


def test_columns_named_by_class_country_change_or_the_cells_own_year() -> None:
    ind = header_of(INDICATORS)
    assert ind is not None
    q = "Hoeveel banen per 1000 inwoners hadden gemeenten met 50.000 tot 100.000 inwoners in 2018?"
    assert choose_column(ind, q, 4, own="Vlaardingen") == 1
    assert choose_column(ind, "Hoeveel banen waren er landelijk in 2018?", 4, own="Vlaardingen") == 2
    cells = ["2,16 (2015)", "1,47 (2015)", "1,52 (2015)", "g.g.b."]
    q = "Welk percentage Vlaardingse jongeren was in 2015 werkloos?"
    assert choose_column(ind, q, 4, own="Vlaardingen", cells=cells) == 0
    r = header_of("Reserves (x € 1.000) 1/1/'20 + - 31/12/'20")
    assert r is not None
    assert choose_column(r, "Met hoeveel daalt de reserve sociaal domein in 2020?", 4) == 2


# --- end to end: the real model on the real corpus ----------------------------------------


@pytest.fixture(scope="module")
def index(real_index: Path) -> Path:
    """The real corpus indexed with the bundled model (built once per session in conftest)."""
    return real_index


def sdsearch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "sdsearch", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=180
    )


@pytest.mark.slow
def test_ask_answers_a_count_with_its_span_and_citation(index: Path) -> None:
    import sdsearch

    ans = sdsearch.ask("hoeveel flexwoningen telt Mrija?", index=index)
    assert ans.answered
    assert ans.span == "387"
    best = next(s for s in ans.sentences if s.span_text == "387")
    assert "387 flexwoningen" in best.text
    assert best.hit.gemeente == "Vlaardingen"
    assert "Vlaardingen" in best.citation
    # The sentence is cited by its place in the source file.
    text = (ROOT / "corpus" / best.hit.source).read_text(encoding="utf-8")
    assert text[best.char_start : best.char_end] == best.text


@pytest.mark.slow
def test_ask_says_so_when_the_reports_do_not_answer(index: Path) -> None:
    import sdsearch

    ans = sdsearch.ask("Hoeveel kost de Wmo in Amsterdam?", index=index)
    assert not ans.answered and ans.text is None
    assert ans.hits, "the closest passages are still returned"


@pytest.mark.slow
def test_ask_json_gives_null_answer_for_an_unanswerable_question(index: Path) -> None:
    r = sdsearch("ask", "--json", "--index", str(index), "Hoeveel kost de Wmo in Amsterdam?")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert set(obj) >= {"question", "answer", "answer_span", "confidence", "citations", "hits"}
    assert obj["answer"] is None and obj["answer_span"] is None and obj["citations"] == []
    assert obj["hits"]


@pytest.mark.slow
def test_ask_dash_answers_each_stdin_line_as_one_json_object(index: Path) -> None:
    questions = "hoeveel flexwoningen telt Mrija?\n\nWanneer treedt de nieuwe Wet inburgering in werking?\n"
    r = sdsearch("ask", "-", "--json", "--index", str(index), stdin=questions)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    # One object per input line; the blank line's says why it was not asked.
    assert len(lines) == 3 and lines[1].get("error") and lines[1]["answer"] is None
    objs = [o for o in lines if not o.get("error")]
    assert [o["question"] for o in objs] == ["hoeveel flexwoningen telt Mrija?", "Wanneer treedt de nieuwe Wet inburgering in werking?"]
    assert objs[0]["answer_span"] == "387" and objs[0]["answer_fact"] == "387"
    assert objs[0]["citations"][0]["gemeente"] == "Vlaardingen"
    assert "1 januari 2022" in objs[1]["answer_span"]


@pytest.mark.slow
def test_ask_text_output_puts_the_answer_before_the_sources(index: Path) -> None:
    r = sdsearch("ask", "--index", str(index), "hoeveel flexwoningen telt Mrija?")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("Antwoord: 387")
    assert out.index("Antwoord:") < out.index("Bronnen:")
    assert "Vlaardingen · Jaarstukken 2023" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_change_columns_are_named_and_take_the_period_of_the_dates() -> None:
    header = "Reserves (x € 1.000) 1/1/'20 + - 31/12/'20"
    h = header_of(header)
    line = "Sociaal domein centrumtaken 3.129 780 0 3.909"
    row = row_cells(line)
    assert h is not None and row is not None
    col = choose_column(h, "Hoeveel wordt in 2020 aan de reserve centrumtaken toegevoegd?", 4)
    assert col == 1
    assert statement(row, h, col, "780") == "Sociaal domein centrumtaken toevoeging 2020: 780 (x € 1.000)"
    assert choose_column(h, "Hoeveel wordt in 2020 onttrokken aan de reserve?", 4) == 2


def test_without_a_year_asked_the_column_is_the_reports_own_year_or_latest() -> None:
    h = header_of(HEADER)
    assert h is not None
    assert choose_column(h, "Wat zijn de lasten van het sociaal domein?", 4, own="Vlaardingen", own_year=2020) == 0
    ind = header_of(INDICATORS)
    assert ind is not None
    # The 2020 begroting has no 2020 column here: the latest Vlaardingen column.
    assert choose_column(ind, "Hoeveel banen had Vlaardingen?", 4, own="Vlaardingen", own_year=2020) == 3


# --- comparing gemeenten -------------------------------------------------------------------


def test_answer_per_gemeente_asks_each_gemeente_its_own_reports(small_index: Path) -> None:
    from sdsearch.answer import answer_per_gemeente
    from sdsearch.retrieve import Filters, Retriever
    from sdsearch.store import open_index

    from conftest import FakeEncoder

    r = Retriever(open_index(small_index), FakeEncoder())
    out = answer_per_gemeente(r, "Wat gebeurt er met beschermd wonen?", k=3, threshold=0.0)
    assert list(out) == sorted(out, key=str.casefold) and set(out) == {"Maassluis", "Velsen", "Vlaardingen"}
    for gemeente, ans in out.items():
        assert all(h.gemeente == gemeente for h in ans.hits)
        assert all(s.hit.gemeente == gemeente for s in ans.sentences)
    only = answer_per_gemeente(r, "beschermd wonen", k=3, filters=Filters.make("Velsen"), threshold=0.0)
    assert list(only) == ["Velsen"]
    declined = answer_per_gemeente(r, "beschermd wonen", k=3, threshold=1.01)
    assert all(not a.answered for a in declined.values())  # "geen antwoord in de rapporten van X"


def test_rescaled_calibration_keeps_the_order_and_moves_the_level() -> None:
    """The zekerheid is the dev-fitted head with its logit rescaled (Platt, fitted on the cal set)."""
    from sdsearch.answer.decide import CALIBRATION, DEV_CALIBRATION, Calibration

    base = Calibration()
    scaled = base.rescaled(0.5, 0.2)
    signals = [
        {"p_top": 0.9, "cover": 1.0, "hard_missing": 0.0},
        {"p_top": 0.5, "cover": 0.6, "hard_missing": 0.0},
        {"p_top": 0.0, "cover": 0.3, "hard_missing": 1.0},
    ]
    before = [base.probability(s) for s in signals]
    after = [scaled.probability(s) for s in signals]
    assert sorted(range(3), key=before.__getitem__) == sorted(range(3), key=after.__getitem__)
    import math

    for p0, p1 in zip(before, after, strict=True):
        z0 = math.log(p0 / (1 - p0))
        assert math.log(p1 / (1 - p1)) == pytest.approx(0.5 * z0 + 0.2)
    assert CALIBRATION == DEV_CALIBRATION.rescaled(0.507, 0.143)

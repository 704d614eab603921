"""The shapes of the API's answers, for the OpenAPI schema.

The answers themselves are written by ``sdsearch.render`` (``hits_json``, ``answer_json``),
the same functions behind the command line's ``--json``; these models only describe
them, and the tests check that every answer fits its model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Strict):
    source: str
    char_start: int
    char_end: int
    section: list[str]
    page: int | None
    page_end: int | None


class Hit(_Strict):
    rank: int = Field(description="1 is the best match")
    score: float
    citation: str = Field(description="Gemeente · title · section path · page, for people")
    passage_id: str
    source: str = Field(description="The report's file, relative to the corpus folder")
    text: str
    char_start: int = Field(description="Where the passage starts in the report's extracted text")
    char_end: int
    title: str
    gemeente: str | None
    year: int | None
    doc_type: str | None
    section: list[str]
    page: int | None
    page_end: int | None
    also_at: list[Location] = Field(description="Other places where the same text occurs")


class SearchResult(_Strict):
    query: str
    hits: list[Hit]


class Citation(_Strict):
    sentence: str
    span: str | None = Field(description="The asked-for fact inside the sentence, when there is one")
    citation: str
    source: str
    gemeente: str | None
    year: int | None
    doc_type: str | None
    section: list[str]
    page: int | None
    char_start: int
    char_end: int
    passage_id: str


class AskResult(_Strict):
    question: str
    answer: str | None = Field(description="The answering sentences; null when the reports hold no clear answer")
    answer_span: str | None = Field(description="The marked fact or clause in the answering sentences")
    answer_fact: str | None = Field(
        description="The fact to state on its own (an amount, date, name or table cell); null for clause answers"
    )
    confidence: float
    citations: list[Citation]
    hits: list[Hit]


class Facet(_Strict):
    value: str | int
    documents: int
    passages: int


class DocumentInfo(_Strict):
    source: str
    title: str | None
    gemeente: str | None
    year: int | None
    doc_type: str | None
    pages: int | None
    passages: int


class Info(_Strict):
    generation: str = Field(description="The index generation that answers now")
    created: str | None
    model: str | None
    passages: int
    documents: list[DocumentInfo]
    gemeenten: list[Facet]
    years: list[Facet]
    types: list[Facet]


class Health(_Strict):
    status: str
    generation: str
    passages: int


class Error(BaseModel):
    error: str = Field(description="What went wrong, in Dutch, in one or two sentences")
    field: str | None = Field(None, description="The parameter that was refused")
    known: list[str] | None = Field(None, description="The values the index holds for that parameter")
    suggestion: str | None = Field(None, description="A value close to the one given")

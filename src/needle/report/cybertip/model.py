"""The CyberTipline report as typed elements: one frozen dataclass per XML element.

In: values (the builder in ``build`` fills them from the store). Out: elements that
``needle.report.cybertip.xml.to_xml`` writes. Each element class declares, in ``CHILDREN``,
its child elements **in the order NCMEC's schema requires** (and in ``ATTRIBUTES`` its XML
attributes); the writer follows that declaration and never the order of the dataclass's
fields, so a field declared or passed in another order cannot put an element out of place.
Every field must be named in exactly one declaration: the writer refuses a class that has a
field it would not know where to put.

A child's field holds another element, text (``str``/``int``), a ``bool`` (``true``/``false``),
a ``datetime`` (ISO 8601 with its offset), a tuple of those (a repeated element), or ``None``
(left out). ``Flag`` children are empty elements written only when their field is true
(``<generativeAi/>``). ``TEXT`` names the field written as an element's own text, for the
elements that carry attributes and a value (``<originalFileHash hashType="MD5">…``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

__all__ = [
    "HASH_TYPES",
    "INCIDENT_TYPES",
    "INDUSTRY_CLASSIFICATIONS",
    "Address",
    "Child",
    "ContactPerson",
    "Detail",
    "Details",
    "Element",
    "Email",
    "FileAnnotations",
    "FileDetails",
    "FileHash",
    "IncidentSummary",
    "InternetDetails",
    "IpCaptureEvent",
    "Person",
    "PersonOrUserReported",
    "Phone",
    "Report",
    "ReportAnnotations",
    "ReportedPerson",
    "Reporter",
    "ReportingPerson",
    "Victim",
    "VictimPerson",
    "WebPageIncident",
]

#: ``incidentType`` values the documentation lists
INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
)
#: ``industryClassification``: A = prepubescent, B = pubescent; 1 = sex act, 2 = lascivious
INDUSTRY_CLASSIFICATIONS = ("A1", "A2", "B1", "B2")
HASH_TYPES = ("MD5", "SHA1")


@dataclass(frozen=True)
class Child:
    """One child element: its XML name, the field that holds it, and whether it is a flag
    (an empty element present only when the field is true)."""

    name: str
    field: str
    flag: bool = False


class Element:
    """Base of every element: the XML name and the schema-ordered declaration."""

    ELEMENT: ClassVar[str]
    CHILDREN: ClassVar[tuple[Child, ...]] = ()
    #: (XML attribute name, field)
    ATTRIBUTES: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: the field written as the element's text, for elements with attributes and a value
    TEXT: ClassVar[str | None] = None


def _children(*pairs: str, flags: tuple[str, ...] = ()) -> tuple[Child, ...]:
    """``Child`` declarations from XML names, the field being the same name in snake case."""
    return tuple(Child(name, _snake(name), name in flags) for name in pairs)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# -- people -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone(Element):
    ELEMENT = "phone"
    ATTRIBUTES = (("type", "kind"), ("countryCallingCode", "country_calling_code"))
    TEXT = "number"

    number: str
    kind: str | None = None
    country_calling_code: str | None = None


@dataclass(frozen=True)
class Email(Element):
    ELEMENT = "email"
    ATTRIBUTES = (("type", "kind"), ("verified", "verified"))
    TEXT = "address"

    address: str
    kind: str | None = None
    verified: bool | None = None


@dataclass(frozen=True)
class Address(Element):
    ELEMENT = "address"
    CHILDREN = _children("address", "city", "zipCode", "state", "nonUsaState", "country")

    address: str | None = None
    city: str | None = None
    zip_code: str | None = None
    state: str | None = None
    non_usa_state: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Person(Element):
    """NCMEC's person type; ``ELEMENT`` is set per use (``reportingPerson``, …)."""

    ELEMENT = "person"
    CHILDREN = _children("firstName", "lastName", "phone", "email", "address", "age")

    first_name: str | None = None
    last_name: str | None = None
    phone: tuple[Phone, ...] = ()
    email: tuple[Email, ...] = ()
    address: tuple[Address, ...] = ()
    age: int | None = None


@dataclass(frozen=True)
class ReportingPerson(Person):
    ELEMENT = "reportingPerson"


@dataclass(frozen=True)
class ContactPerson(Person):
    ELEMENT = "contactPerson"


@dataclass(frozen=True)
class ReportedPerson(Person):
    ELEMENT = "personOrUserReportedPerson"


@dataclass(frozen=True)
class VictimPerson(Person):
    ELEMENT = "victimPerson"


@dataclass(frozen=True)
class IpCaptureEvent(Element):
    ELEMENT = "ipCaptureEvent"
    CHILDREN = _children("ipAddress", "eventName", "dateTime", "possibleProxy", "port")

    ip_address: str
    event_name: str | None = None
    date_time: datetime | None = None
    possible_proxy: bool | None = None
    port: int | None = None


# -- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportAnnotations(Element):
    ELEMENT = "reportAnnotations"
    _NAMES = (
        "sextortion",
        "csamSolicitation",
        "minorToMinorInteraction",
        "spam",
        "sadisticOnlineExploitation",
    )
    CHILDREN = _children(*_NAMES, flags=_NAMES)

    sextortion: bool = False
    csam_solicitation: bool = False
    minor_to_minor_interaction: bool = False
    spam: bool = False
    sadistic_online_exploitation: bool = False


@dataclass(frozen=True)
class IncidentSummary(Element):
    ELEMENT = "incidentSummary"
    CHILDREN = _children(
        "incidentType",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    )

    incident_type: str
    incident_date_time: datetime
    escalate_to_high_priority: str | None = None
    report_annotations: ReportAnnotations | None = None
    incident_date_time_description: str | None = None


@dataclass(frozen=True)
class WebPageIncident(Element):
    ELEMENT = "webPageIncident"
    CHILDREN = _children("url", "additionalInfo", "thirdPartyHostedContent")

    url: tuple[str, ...] = ()
    additional_info: str | None = None
    third_party_hosted_content: bool | None = None


@dataclass(frozen=True)
class InternetDetails(Element):
    ELEMENT = "internetDetails"
    CHILDREN = _children("webPageIncident")

    web_page_incident: WebPageIncident


@dataclass(frozen=True)
class Reporter(Element):
    ELEMENT = "reporter"
    CHILDREN = (
        *_children("reportingPerson", "contactPerson", "companyTemplate", "termsOfService"),
        Child("legalURL", "legal_url"),
    )

    reporting_person: ReportingPerson
    contact_person: ContactPerson | None = None
    company_template: str | None = None
    terms_of_service: str | None = None
    legal_url: str | None = None


@dataclass(frozen=True)
class PersonOrUserReported(Element):
    ELEMENT = "personOrUserReported"
    CHILDREN = _children(
        "personOrUserReportedPerson",
        "espIdentifier",
        "espService",
        "screenName",
        "displayName",
        "profileUrl",
        "ipCaptureEvent",
        "deviceId",
        "additionalInfo",
    )

    person_or_user_reported_person: ReportedPerson | None = None
    esp_identifier: str | None = None
    esp_service: str | None = None
    screen_name: str | None = None
    display_name: tuple[str, ...] = ()
    profile_url: tuple[str, ...] = ()
    ip_capture_event: tuple[IpCaptureEvent, ...] = ()
    device_id: tuple[str, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True)
class Victim(Element):
    ELEMENT = "victim"
    CHILDREN = _children(
        "victimPerson", "espIdentifier", "espService", "screenName", "displayName",
        "profileUrl", "additionalInfo",
    )  # fmt: skip

    victim_person: VictimPerson | None = None
    esp_identifier: str | None = None
    esp_service: str | None = None
    screen_name: str | None = None
    display_name: tuple[str, ...] = ()
    profile_url: tuple[str, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True)
class Report(Element):
    """The ``/submit`` document: one report about one reported account."""

    ELEMENT = "report"
    CHILDREN = _children(
        "incidentSummary",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "victim",
        "additionalInfo",
    )

    incident_summary: IncidentSummary
    reporter: Reporter
    internet_details: tuple[InternetDetails, ...] = ()
    person_or_user_reported: tuple[PersonOrUserReported, ...] = ()
    victim: tuple[Victim, ...] = ()
    additional_info: str | None = None


# -- one file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileAnnotations(Element):
    ELEMENT = "fileAnnotations"
    _NAMES = (
        "animeDrawingVirtualHentai",
        "potentialMeme",
        "viral",
        "possibleSelfProduction",
        "physicalHarm",
        "violenceGore",
        "bestiality",
        "liveStreaming",
        "infant",
        "generativeAi",
    )
    CHILDREN = _children(*_NAMES, flags=_NAMES)

    anime_drawing_virtual_hentai: bool = False
    potential_meme: bool = False
    viral: bool = False
    possible_self_production: bool = False
    physical_harm: bool = False
    violence_gore: bool = False
    bestiality: bool = False
    live_streaming: bool = False
    infant: bool = False
    generative_ai: bool = False

    def any(self) -> bool:
        return any(getattr(self, child.field) for child in self.CHILDREN)


@dataclass(frozen=True)
class FileHash(Element):
    ELEMENT = "originalFileHash"
    ATTRIBUTES = (("hashType", "hash_type"),)
    TEXT = "value"

    value: str
    hash_type: str


@dataclass(frozen=True)
class Detail(Element):
    ELEMENT = "nameValuePair"
    CHILDREN = _children("name", "value")

    name: str
    value: str


@dataclass(frozen=True)
class Details(Element):
    """Name/value pairs about a file; ``kind`` is ``EXIF`` or ``HASH``."""

    ELEMENT = "details"
    ATTRIBUTES = (("type", "kind"),)
    CHILDREN = (Child("nameValuePair", "pairs"),)

    kind: str
    pairs: tuple[Detail, ...]


@dataclass(frozen=True)
class FileDetails(Element):
    """The ``/fileinfo`` document of one uploaded file."""

    ELEMENT = "fileDetails"
    CHILDREN = _children(
        "reportId",
        "fileId",
        "originalFileName",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "details",
        "additionalInfo",
    )

    report_id: str
    file_id: str
    original_file_name: str | None = None
    location_of_file: str | None = None
    file_viewed_by_esp: bool | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    file_relevance: str | None = None
    file_annotations: FileAnnotations | None = None
    industry_classification: str | None = None
    original_file_hash: tuple[FileHash, ...] = ()
    details: tuple[Details, ...] = ()
    additional_info: tuple[str, ...] = ()

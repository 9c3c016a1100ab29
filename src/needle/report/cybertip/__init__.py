"""NCMEC CyberTipline reports: plan from reviewed items, preview the XML, send, retract.

In: the store (decisions, cases and their account details), an ``[ncmec]`` TOML config and,
to send, credentials. Out: ``ReportPlan``s, ``Preview``s and ``Submission``s (rows of
``report_submission``, every step audited). ``model`` holds the report's typed elements,
``xml`` writes them in schema order and checks them against ``cybertip.xsd``, ``client`` talks
to the service, ``build`` and ``submit`` run the flow. No printing here: the CLI
(``needle report ncmec``) and the web pages call these.
"""

from __future__ import annotations

from needle.errors import ReportError, SubmissionFailed
from needle.report.cybertip.build import (
    ABUSE_DECISIONS,
    Account,
    PlannedFile,
    ReportPlan,
    build_file_details,
    build_report,
    plan_reports,
)
from needle.report.cybertip.client import CybertipClient, CybertipError, Step
from needle.report.cybertip.config import (
    BASE_URLS,
    Contact,
    Credentials,
    NcmecConfig,
    how_to_configure,
    load_config,
    load_credentials,
)
from needle.report.cybertip.submit import (
    FilePreview,
    Preview,
    Submission,
    preview_report,
    send_report,
    submission,
    submissions,
)
from needle.report.cybertip.xml import Response, parse_response, to_xml, validate

__all__ = [
    "ABUSE_DECISIONS",
    "BASE_URLS",
    "Account",
    "Contact",
    "Credentials",
    "CybertipClient",
    "CybertipError",
    "FilePreview",
    "NcmecConfig",
    "PlannedFile",
    "Preview",
    "ReportError",
    "ReportPlan",
    "Response",
    "Step",
    "Submission",
    "SubmissionFailed",
    "build_file_details",
    "build_report",
    "how_to_configure",
    "load_config",
    "load_credentials",
    "parse_response",
    "plan_reports",
    "preview_report",
    "send_report",
    "submission",
    "submissions",
    "to_xml",
    "validate",
]

"""The compliance report: model card, evaluation and interpretability on one page.

    from synthkit.report import build_report
    rep = build_report(synth, train, holdout=test, target="Balance", factors=None, model_path="model/")
    rep.write("report.html"); rep.write_pdf("report.pdf")

See docs/report.md for what each section means.
"""

from synthkit.report.compliance import (
    ComplianceReport,
    ReportInputs,
    build_report,
    builtin_credit_data,
    check_columns,
    model_card,
)
from synthkit.report.pdf import find_chromium, html_to_pdf

__all__ = [
    "ComplianceReport",
    "ReportInputs",
    "build_report",
    "builtin_credit_data",
    "check_columns",
    "find_chromium",
    "html_to_pdf",
    "model_card",
]

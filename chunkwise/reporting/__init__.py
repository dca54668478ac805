"""What preparation saved and what it costs to serve: the report against naive splitting
(``report``), its serving scenarios and settings (``scenarios``), the HTML pages (``html``,
shared rows and formats in ``_rows``), store audits from a sample (``auditing``), one
document's chunk boundaries drawn as a page (``visualization``) and the memory, cost and
padding models (``economics``).
"""

from .auditing import AuditReport, Estimate, TokenEstimator, audit
from .html import render_audit, render_report
from .report import Report, SplitStats, build_report
from .visualization import Visualization, visualize
from .scenarios import CompressionStats, Economics, ReportConfig, Resolved, Scenario, Throughput, resolve

# ``scenarios.economics`` (a function) is not re-exported: ``chunkwise.reporting.economics`` is the package.
__all__ = [
    "Report",
    "ReportConfig",
    "build_report",
    "SplitStats",
    "Scenario",
    "Throughput",
    "Economics",
    "CompressionStats",
    "Resolved",
    "resolve",
    "render_report",
    "render_audit",
    "audit",
    "AuditReport",
    "Estimate",
    "TokenEstimator",
    "visualize",
    "Visualization",
]

"""The evaluation figures as the window shows them: which ones, in what unit, what each means.

Both the Compare view (one row per model) and the Evaluate panel (one row per figure) read the rows
that core.comparison makes (``evaluation_fields`` / ``comparison_row``) through ``METRICS``; the
figures themselves are computed in core only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

DASH = "—"  # a figure that does not exist for this model (an AE's bound) or was not computed


@dataclass(frozen=True)
class Metric:
    """One figure of an evaluation row: its field, short header, unit and a one-line meaning."""

    field: str
    header: str
    unit: str  # "nats" (per test image, lower is better), "%" (a share shown as a percentage), "" (a count)
    meaning: str


METRICS = (
    Metric("test_elbo", "−ELBO", "nats", "Negative evidence lower bound on the test digits, β = 1: an upper bound "
           "on −log p(x). Lower is better. An autoencoder has none."),
    Metric("test_recon", "Recon", "nats", "Reconstruction term: how many nats the decoder loses redrawing a test "
           "digit from its code. Lower is better."),
    Metric("test_kl", "KL", "nats", "KL(q(z|x) ‖ N(0, I)), summed over the latent dimensions: what the codes cost "
           "against the prior."),
    Metric("nll", "IW −log p(x)", "nats", "Importance-weighted estimate of −log p(x) (Burda et al. 2016): tighter "
           "than the −ELBO. Lower is better."),
    Metric("active_units", "Active units", "", "Latent dimensions whose mean code varies across the test digits "
           "(variance > 0.01): the dimensions in use."),
    Metric("knn_accuracy", "kNN acc.", "%", "Test digits whose 5 nearest other codes vote for their own label: "
           "how well the codes sort the classes."),
    Metric("prior_confidence", "Prior conf.", "%", "Mean confidence of the digit judge on images decoded from "
           "z ~ N(0, I): do random draws look like digits?"),
    Metric("prior_confident_share", "Clear draws", "%", "Prior draws the judge reads with confidence above 90 %."),
    Metric("conditional_fidelity", "Fidelity", "%", "CVAE only: draws generated for class c that the judge reads "
           "as c, mean over the classes."),
    Metric("recon_judge_accuracy", "Recon judged", "%", "Test reconstructions the judge reads as the digit's own "
           "label."),
    Metric("prior_class_histogram", "Prior classes", "", "How many prior draws the judge read as each class, "
           "in class order (0 to 9 for digits): a gap is a class the model never draws at random."),
)


def format_metric(metric: Metric, row: dict[str, Any]) -> str:
    """One figure of ``row`` as text: nats to 2 places, shares as percentages, a dash when missing."""
    value = row.get(metric.field)
    if metric.field == "conditional_fidelity" and value is not None:
        value = value["mean"]
    if value is None:
        return DASH
    if metric.field == "prior_class_histogram":
        return " ".join(str(count) for count in value)
    if metric.unit == "nats":
        return f"{value:.2f}"
    if metric.unit == "%":
        return f"{100 * value:.1f} %"
    return str(value)


def header_tip(metric: Metric) -> str:
    unit = {"nats": " In nats per test digit.", "%": " Shown as a percentage."}.get(metric.unit, "")
    return metric.meaning + unit


def read_only_table(rows: int, columns: int) -> QTableWidget:
    """A table the user reads and copies from but does not edit."""
    table = QTableWidget(rows, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def fill_model_rows(table: QTableWidget, names: list[str], rows: list[dict[str, Any] | None]) -> None:
    """One row per model (None: not evaluated yet, shown as dashes), one column per figure after the name."""
    table.clear()
    table.setRowCount(len(names))
    table.setColumnCount(1 + len(METRICS))
    headers = ["Model"] + [f"{m.header} ({m.unit})" if m.unit == "nats" else m.header for m in METRICS]
    table.setHorizontalHeaderLabels(headers)
    for column, metric in enumerate(METRICS, 1):
        table.horizontalHeaderItem(column).setToolTip(header_tip(metric))
    for line, (name, row) in enumerate(zip(names, rows)):
        table.setItem(line, 0, QTableWidgetItem(name))
        for column, metric in enumerate(METRICS, 1):
            item = QTableWidgetItem(format_metric(metric, row) if row is not None else "…")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(header_tip(metric))
            table.setItem(line, column, item)

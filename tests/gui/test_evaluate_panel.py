"""The Evaluate panel: evaluate's figures for the open model, off the GUI thread, and a Cancel that stops it."""

from __future__ import annotations


def panel_for(qtbot, session, **options):
    from gui.evaluate_panel import EvaluatePanel

    panel = EvaluatePanel(session, **options)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_the_panel_shows_the_figures_evaluate_computes(qtbot, vae_session):
    panel = panel_for(qtbot, vae_session, iw_samples=2, prior_samples=50)
    assert panel.value("test_elbo") == ""  # nothing until asked
    with qtbot.waitSignal(panel.finished_evaluation, timeout=20_000) as done:
        panel.evaluate()
    assert done.args == [True]
    fields = panel.fields
    assert panel.value("test_elbo") == f"{fields['test_elbo']:.2f}" and fields["test_elbo"] > 0
    assert float(panel.value("nll")) < float(panel.value("test_elbo"))  # the IW bound is the tighter one
    assert panel.value("knn_accuracy") == f"{100 * fields['knn_accuracy']:.1f} %"
    assert panel.value("active_units") == "2" and panel.value("conditional_fidelity") == "—"  # a VAE: no fidelity
    assert len(panel.value("prior_class_histogram").split()) == 10
    assert panel.status.text() == "Evaluated on the MNIST sample's test split."


def test_cancel_stops_the_evaluation_and_shows_nothing(qtbot, vae_session):
    panel = panel_for(qtbot, vae_session, iw_samples=20_000, prior_samples=50)  # minutes if it ran to the end
    panel.evaluate()
    task = panel.task
    with qtbot.waitSignal(task.cancelled, timeout=10_000):  # the worker itself stopped, at its next report
        panel.cancel_button.click()
    assert "Cancelled" in panel.status.text() and panel.evaluate_button.isEnabled()
    assert panel.fields is None and panel.value("test_elbo") == ""

"""Generate: the CVAE class picker conditions the decoder; grid size; style row; plain VAEs."""

import numpy as np
import pytest
from decode_helpers import settle, spy_decoder, spy_judge_threads

from gui.generate_panel import NOT_CONDITIONAL_TIP


@pytest.fixture
def decoder_labels(cvae_session, monkeypatch):
    """The class labels that reach the CVAE's decoder, one list per decode call."""
    return spy_decoder(monkeypatch, cvae_session.model, lambda model, z, labels: labels.tolist())


@pytest.fixture
def generate(qtbot, cvae_workspace):
    """The CVAE's Generate panel with its first grid shown."""
    settle(qtbot, cvae_workspace)
    return cvae_workspace.generate_panel


def test_choosing_a_class_conditions_the_decoder_on_it(qtbot, generate, decoder_labels):
    panel = generate
    decoder_labels.clear()
    with_signal = []
    panel.labelChanged.connect(with_signal.append)
    panel.label_group.button(3).click()
    assert panel.current_label == 3 and with_signal == [3]
    settle(qtbot, panel)
    grid_call = next(call for call in decoder_labels if len(call) == panel.count)
    assert set(grid_call) == {3}


def test_the_grid_has_the_requested_number_of_samples(qtbot, generate):
    panel = generate
    for count in (36, 64, 16):
        panel.set_count(count)
        settle(qtbot, panel)
        assert panel.samples.shape == (count, 28, 28)
        assert panel.grid_view.count == count


def test_same_style_row_decodes_one_z_under_every_class(qtbot, generate, decoder_labels):
    panel = generate
    decoder_labels.clear()
    panel.resample()
    settle(qtbot, panel)
    assert decoder_labels[-1] == list(range(10))
    assert panel.styles.shape == (10, 28, 28) and panel.style_view.count == 10
    assert not panel.style_view.isHidden()


def test_resample_draws_new_digits(qtbot, generate):
    panel = generate
    before = panel.samples.copy()
    panel.resample()
    settle(qtbot, panel)
    assert not np.allclose(before, panel.samples)


def test_class_buttons_are_named_by_the_sessions_class_names(cvae_workspace, cvae_session):
    texts = [button.text() for button in cvae_workspace.generate_panel.label_group.buttons()]
    assert texts == list(cvae_session.class_names)


def test_a_plain_vae_disables_the_picker_and_says_why(qtbot, workspace):
    panel = workspace.generate_panel
    settle(qtbot, panel)
    buttons = panel.label_group.buttons()
    assert buttons and not any(button.isEnabled() for button in buttons)
    assert all(button.toolTip() == NOT_CONDITIONAL_TIP for button in buttons)
    assert "not conditional" in panel.picker_box.toolTip()
    assert panel.samples.shape == (panel.count, 28, 28)
    assert panel.style_view.isHidden()
    assert workspace.morph_panel.condition_note.isHidden()


def test_new_weights_redraw_the_grid(qtbot, workspace, vae_session):
    panel = workspace.generate_panel
    settle(qtbot, panel)
    before = panel.samples.copy()
    halved = {name: value * 0.5 for name, value in vae_session.model.state_dict().items()}
    if hasattr(vae_session, "update_record"):  # the session holds a RunRecord (set_weights before that refactor)
        from dataclasses import replace

        vae_session.update_record(replace(vae_session.record, weights=halved))
    else:
        vae_session.set_weights(halved)
    qtbot.waitUntil(lambda: panel.samples is not None and not np.allclose(panel.samples, before), timeout=3000)


def _panel_for(qtbot, kind):
    from core.config import ModelConfig
    from core.models import build_model
    from gui.generate_panel import GeneratePanel
    from gui.session import ModelSession

    config = ModelConfig(kind=kind, hidden=(16,), latent_dim=2)
    weights = build_model(config, seed=0).state_dict()
    session = ModelSession()
    if hasattr(session, "set_record"):  # the session holds a RunRecord (set_model before that refactor)
        from core.run_record import RunRecord

        session.set_record(RunRecord(config, weights), dirty=False)
    else:
        session.set_model(config, weights, dirty=False)
    panel = GeneratePanel(session)
    qtbot.addWidget(panel)
    settle(qtbot, panel)
    return panel


def test_an_autoencoders_grid_says_it_decodes_random_draws_not_prior_samples(qtbot):
    panel = _panel_for(qtbot, "ae")
    assert panel.samples.shape == (panel.count, 28, 28)  # the grid is still drawn
    text = panel.note.text()
    assert "never trained to fill N(0, I)" in text and "random draws" in text
    assert "prior" not in text and "prior" not in panel.resample_button.toolTip()


def test_a_vaes_grid_still_samples_its_prior(qtbot):
    panel = _panel_for(qtbot, "vae")
    text = panel.note.text()
    assert "from the prior" in text and "never trained" not in text


# --- the digit judge's reading of the grid -------------------------------------------------------


@pytest.fixture
def no_judge(monkeypatch, tmp_path):
    """The judge file missing: the window's judge is loaded afresh, and again after the test."""
    import core.judge
    from gui.judges import judge_provider

    monkeypatch.setattr(core.judge, "JUDGE_FILE", tmp_path / "judge_mnist.safetensors")
    judge_provider().forget()
    yield tmp_path / "judge_mnist.safetensors"
    judge_provider().forget()


def test_a_cvaes_grid_says_how_many_samples_read_as_the_chosen_class(qtbot, generate):
    from gui.judges import judge_provider

    panel = generate
    for label, count in ((3, 16), (7, 36)):
        panel.label_group.button(label).click()
        panel.set_count(count)
        settle(qtbot, panel)
        classes, _ = judge_provider().judge_for("mnist")[0].read(panel.samples)
        assert len(panel.reading) == count and panel.grid_view.reading is panel.reading
        np.testing.assert_array_equal(panel.reading.classes, classes)
        assert f"{int(np.sum(classes == label))} of {count} read as “{label}”" in panel.judge_note.text()
    assert not panel.judge_note.isHidden()


def test_a_vaes_grid_lists_the_classes_its_draws_are_read_as(qtbot, workspace):
    panel = workspace.generate_panel
    settle(qtbot, panel)
    counts = np.bincount(panel.reading.classes, minlength=10)
    text = panel.judge_note.text()
    assert text.startswith(f"Judge reads the {panel.count} draws as")
    for digit in np.flatnonzero(counts):
        assert f"{digit} ×{counts[digit]}" in text


def test_without_the_judge_the_grid_has_no_marks_and_says_why(qtbot, no_judge, generate):
    panel = generate
    panel.resample()
    settle(qtbot, panel)
    assert panel.samples is not None and panel.reading is None and panel.grid_view.reading is None
    assert panel.judge_note.text().startswith("No digit reading") and "missing" in panel.judge_note.text()
    panel.grab()  # painting without readings raises nothing


def test_a_model_of_an_unjudged_dataset_says_the_judge_cannot_read_it(qtbot):
    panel = _panel_for(qtbot, "vae")  # a record with no dataset
    assert panel.reading is None and "does not name its dataset" in panel.judge_note.text()


def test_the_grid_is_read_on_the_decode_task_s_thread_not_the_gui_s(qtbot, generate, monkeypatch):
    """While the window trains, a read on the GUI thread stalled it 40-110 ms at each epoch's new grid
    (benchmarks/gui_responsiveness.py): the judge reads where the grid is decoded."""
    import threading

    threads = spy_judge_threads(monkeypatch)
    panel = generate
    panel.resample()
    settle(qtbot, panel)
    assert threads and threading.main_thread() not in threads
    assert len(panel.reading) == panel.count and panel.grid_view.reading is panel.reading


def test_a_judge_loaded_ahead_is_loaded_off_the_gui_thread_and_then_answers_at_once(qtbot, monkeypatch):
    """Training starts by loading its dataset's judge on a worker thread, so the first epoch's views
    do not load it on the GUI thread (30-35 ms); a dataset with no judge is left for judge_for."""
    import threading

    import gui.judges
    from gui.judges import JudgeProvider

    threads = []
    find = gui.judges.find_judge

    def spying_find(dataset, data_dir):
        threads.append(threading.current_thread())
        return find(dataset, data_dir)

    monkeypatch.setattr(gui.judges, "find_judge", spying_find)
    provider = JudgeProvider()
    provider.load_ahead("mnist")
    provider.load_ahead("mnist")  # asked twice while loading: loaded once
    provider.load_ahead("no-such-dataset")  # no judge: nothing kept, nothing said
    qtbot.waitUntil(lambda: not provider._loading, timeout=10_000)
    assert len(threads) == 2 and threading.main_thread() not in threads
    judge, why_not = provider.judge_for("mnist")
    assert judge is not None and why_not is None and len(threads) == 2  # no second load
    assert "no-such-dataset" not in provider._judges and "no-such-dataset" not in provider._failures

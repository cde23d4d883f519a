"""Where exports go: a suggested name never points at an earlier export, a typed one that exists is
replaced only when the user says so, and the save dialogs suggest a name after the model."""

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from gui.export_dialog import MorphExportDialog
from gui.export_paths import first_free_path


def _ini_settings(tmp_path, folder):
    settings = QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat)
    settings.setValue("export/folder", str(folder))
    return settings


def test_the_suggested_morph_name_is_never_an_earlier_export(workspace, tmp_path):
    """The dialog suggested morph.gif every time: a second export with one press of Save wrote over the first."""
    (tmp_path / "morph.gif").write_bytes(b"the first export")
    (tmp_path / "morph-2.gif").write_bytes(b"the second export")
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace,
                               settings=_ini_settings(tmp_path, tmp_path))
    assert Path(dialog.path_edit.text()) == tmp_path / "morph-3.gif"
    assert first_free_path(tmp_path / "talk.gif") == tmp_path / "talk.gif"


def test_a_typed_name_that_exists_is_replaced_only_when_the_user_says_so(workspace, tmp_path, message_boxes):
    taken = tmp_path / "slide.gif"
    taken.write_bytes(b"made for a talk")
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, path=taken,
                               settings=_ini_settings(tmp_path, tmp_path))
    message_boxes.answer = QMessageBox.StandardButton.No
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted  # still open, for another name
    assert message_boxes[-1][0] == "question" and "slide.gif already exists" in message_boxes[-1][2]
    message_boxes.answer = QMessageBox.StandardButton.Yes
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    asked = len(message_boxes)
    dialog.path_edit.setText(str(tmp_path / "new.gif"))
    dialog.accept()  # a free name: nothing to ask
    assert len(message_boxes) == asked



def test_a_file_chosen_in_the_file_dialog_is_not_asked_about_twice(workspace, tmp_path, message_boxes, monkeypatch):
    import gui.export_dialog

    taken = tmp_path / "slide.gif"
    taken.write_bytes(b"made for a talk")
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace,
                               settings=_ini_settings(tmp_path, tmp_path))
    monkeypatch.setattr(gui.export_dialog, "choose_save_path", lambda *args: taken)  # it asked, Yes
    dialog._browse()
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and message_boxes == []


def test_the_save_dialogs_suggest_a_free_name_after_the_model(workspace, vae_session, tmp_path, monkeypatch):
    QSettings().setValue("export/folder", str(tmp_path))
    stem = vae_session.file_stem
    (tmp_path / f"{stem}-latent.png").write_bytes(b"an earlier picture")
    suggested = []

    def look_and_cancel(dialog):
        suggested.append(Path(dialog.selectedFiles()[0]))
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(QFileDialog, "exec", look_and_cancel)
    assert not workspace.export_scatter()
    assert suggested == [tmp_path / f"{stem}-latent-2.png"]


def test_the_loss_history_is_suggested_in_the_export_folder_after_the_model(qtbot, main_window, trained_vae_checkpoint,
                                                                             tmp_path, monkeypatch):
    """It suggested a bare "loss-history.csv", which landed wherever the app had been started from."""
    with qtbot.waitSignal(main_window.modelDataSettled, timeout=30_000):
        assert main_window.files.open_model(trained_vae_checkpoint)
    QSettings().setValue("export/folder", str(tmp_path))
    monkeypatch.setattr(QFileDialog, "exec", lambda dialog: QDialog.DialogCode.Accepted)  # Save, as suggested
    main_window.export_csv_action.trigger()
    written = tmp_path / f"{Path(trained_vae_checkpoint).stem}-loss-history.csv"
    assert len(written.read_text().splitlines()) == 1 + len(main_window.session.history.steps)  # header, steps


def test_save_as_suggests_a_name_that_says_what_the_model_is(main_window, trained_vae_checkpoint, tmp_path,
                                                             monkeypatch):
    """Every new model was suggested as model.safetensors."""
    import dataclasses

    from gui.model_files import model_file_stem

    main_window.session.open(trained_vae_checkpoint)
    record = main_window.session.record
    assert model_file_stem(record) == f"vae-{record.model_config.latent_dim}d-{record.dataset}"
    beta = dataclasses.replace(record, model_config=dataclasses.replace(record.model_config, beta=4.0),
                               dataset="folder:/data/letters/")
    assert model_file_stem(beta) == f"beta4-vae-{record.model_config.latent_dim}d-letters"
    main_window.session._set_path(None)  # a model trained in the window: never saved
    main_window.recent_files.insert(0, str(tmp_path / "earlier.safetensors"))
    (tmp_path / f"{model_file_stem(record)}.safetensors").write_bytes(b"an earlier model")
    suggested = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, path, filters: suggested.append(path) or ("", "")))
    assert not main_window.files.save_model_as()
    assert suggested == [str(tmp_path / f"{model_file_stem(record)}-2.safetensors")]

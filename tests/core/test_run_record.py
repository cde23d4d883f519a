"""The typed run history: rows in, CSV out."""

import csv
import math

from core.run_record import EpochRow, History, StepRow


def _epoch(epoch, global_step, val_loss, val_recon, val_kl):
    return EpochRow(epoch, global_step, 9.0, 8.0, 1.0, val_loss, val_recon, val_kl, 1.0, 100.0)


def test_write_csv_has_one_row_per_step_and_validation_on_epoch_ends(tmp_path):
    steps = [StepRow(0, 1, 10.0, 9.0, 1.0), StepRow(0, 2, 8.0, 7.5, 0.5),  # epoch 1: 2 steps
             StepRow(1, 3, 7.0, 6.0, 0.5, beta=2.0), StepRow(1, 4, 6.5, 5.5, 0.5, beta=2.0),
             StepRow(2, 5, 6.0, 5.0, 0.5, beta=2.0)]  # epoch 3 stopped after its first step
    history = History(steps, [_epoch(1, 2, 7.9, 7.4, 0.5), _epoch(2, 4, math.nan, math.nan, math.nan)])
    path = tmp_path / "history.csv"
    history.write_csv(path)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "step", "loss", "recon", "kl", "beta", "val_loss", "val_recon", "val_kl"]
    body = rows[1:]
    assert len(body) == len(steps)
    assert [row[:2] for row in body] == [["1", "1"], ["1", "2"], ["2", "3"], ["2", "4"], ["3", "5"]]  # epochs 1-based
    assert [float(v) for v in body[2][2:6]] == [7.0, 6.0, 0.5, 2.0]
    assert [float(v) for v in body[1][6:]] == [7.9, 7.4, 0.5]  # the step that ended epoch 1
    assert body[3][6:] == ["", "", ""]  # epoch 2 ended without a validation split: blank, not "nan"
    assert body[0][6:] == body[2][6:] == body[4][6:] == ["", "", ""]  # steps inside an epoch
    assert not list(tmp_path.glob(".*part*"))


def test_write_csv_of_an_empty_history_is_the_header(tmp_path):
    History().write_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines() == ["epoch,step,loss,recon,kl,beta,val_loss,val_recon,val_kl"]


def test_an_autoencoders_epochs_record_no_bound_and_a_vaes_keep_their_kl_per_dimension(
        trained_ae_checkpoint, trained_vae_checkpoint, tmp_path):
    """An AE has no KL and so no ELBO: its epoch rows leave them empty (null in the file, blank in
    the CSV), where they used to read 0 and made its reconstruction pass for a bound. A VAE's rows
    keep one KL per latent dimension through a save and a reload."""
    import json

    from safetensors import safe_open

    from core.files import load_checkpoint

    ae = load_checkpoint(trained_ae_checkpoint)
    assert ae.history.epochs and all(math.isnan(row.val_kl) and math.isnan(row.train_kl) and
                                     math.isnan(row.val_elbo) and math.isnan(row.train_elbo) and
                                     math.isfinite(row.val_recon) and row.kl_per_dim == ()
                                     for row in ae.history.epochs)
    with safe_open(str(trained_ae_checkpoint), "pt") as reader:
        stored = json.loads(reader.metadata()["history"])["epochs"]
    assert all(row["val_kl"] is None and row["train_kl"] is None for row in stored)
    ae.history.write_csv(tmp_path / "ae.csv")
    with open(tmp_path / "ae.csv", newline="") as handle:
        ends = [row for row in csv.DictReader(handle) if row["val_recon"]]
    assert ends and all(row["val_kl"] == "" for row in ends)

    vae = load_checkpoint(trained_vae_checkpoint)
    for row in vae.history.epochs:
        assert len(row.kl_per_dim) == vae.model_config.latent_dim
        assert math.isclose(sum(row.kl_per_dim), row.val_kl, rel_tol=1e-4)
        assert math.isclose(row.val_elbo, row.val_recon + row.val_kl)


def test_an_old_file_s_zero_kl_for_an_autoencoder_reads_as_no_bound(trained_ae_checkpoint, tmp_path):
    from dataclasses import replace

    from core.files import load_checkpoint, save_checkpoint

    row = EpochRow(1, 10, 120.0, 120.0, 0.0, 118.0, 118.0, 0.0, 1.0, 100.0)
    assert row.val_elbo == 118.0  # what earlier files held for an AE: its reconstruction as a bound
    record = load_checkpoint(trained_ae_checkpoint)
    old = replace(record, history=History(record.history.steps, [row]))
    save_checkpoint(old, tmp_path / "old_ae.safetensors")
    reread = load_checkpoint(tmp_path / "old_ae.safetensors").history.epochs[0]
    assert math.isnan(reread.val_elbo) and reread.val_recon == 118.0 and reread.train_recon == 120.0

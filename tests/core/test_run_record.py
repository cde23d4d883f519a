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

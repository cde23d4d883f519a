"""β schedules, free bits and the posterior-collapse flag: formulas, gradients, runs, resume and the CLI."""

import json
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction
from io import StringIO

import pytest
import torch

from core.cli import build_parser, run_cli
from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError
from core.evaluation import evaluate
from core.files import load_checkpoint
from core.losses import free_bits_kl, kl_per_dimension, loss_terms
from core.schedules import BetaSchedule, parse_beta_schedule
from core.training import Trainer
from core.training_control import TrainingControl

SMALL = ModelConfig(hidden=(32,), latent_dim=4)


def _config(**overrides) -> TrainConfig:
    base = dict(epochs=3, batch_size=100, lr=2e-3, device="cpu", seed=0)  # 600 tiny digits: 6 steps an epoch
    base.update(overrides)
    return TrainConfig(**base)


def _fu_factor(t: int, total: int, cycles: int, ratio: float) -> float:
    """Fu et al. 2019, eq. 4, in exact fractions: tau = mod(t, T/M) / (T/M); f = tau/R while tau <= R, else 1."""
    cycle = Fraction(total, cycles)
    tau = (t % cycle) / cycle
    return float(min(Fraction(1), tau / Fraction(ratio)))


# ----- the formulas -----
def test_constant_is_one_everywhere():
    schedule = parse_beta_schedule("constant")
    assert all(schedule.factor(t, 7, 3) == 1.0 for t in range(30))


@pytest.mark.parametrize("epochs, steps_per_epoch", [(1, 6), (2, 5), (3, 1)])
def test_warmup_rises_linearly_from_zero_across_epochs_then_holds(epochs, steps_per_epoch):
    schedule = parse_beta_schedule(f"warmup:{epochs}")
    ramp = epochs * steps_per_epoch
    factors = [schedule.factor(t, steps_per_epoch, 10) for t in range(ramp + 10)]
    assert factors == [min(1.0, t / ramp) for t in range(ramp + 10)]
    assert factors[0] == 0.0 and factors[ramp] == 1.0 and factors[ramp - 1] < 1.0
    # the first step of epoch 2 is half-way through a 2-epoch warm-up
    assert parse_beta_schedule("warmup:2").factor(steps_per_epoch, steps_per_epoch, 10) == 0.5


@pytest.mark.parametrize("text, epochs, steps_per_epoch", [
    ("cyclical:2", 4, 5), ("cyclical:4:0.5", 4, 6), ("cyclical:3:0.25", 2, 5),  # 3 cycles over 10 steps
    ("cyclical:1:1", 3, 4), ("cyclical:5:0.8", 7, 3)])
def test_cyclical_follows_fu_et_al_over_the_whole_run(text, epochs, steps_per_epoch):
    schedule = parse_beta_schedule(text)
    total = epochs * steps_per_epoch
    for t in range(total):
        assert schedule.factor(t, steps_per_epoch, epochs) == pytest.approx(
            _fu_factor(t, total, schedule.cycles, schedule.ratio), abs=1e-12), t


def test_cyclical_by_hand():
    schedule = parse_beta_schedule("cyclical:2")  # 4 epochs of 5 steps: two cycles of 10 steps
    assert schedule.ratio == 0.5
    factors = [schedule.factor(t, 5, 4) for t in range(20)]
    assert factors[:10] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert factors[10:] == factors[:10]  # the second cycle starts again from 0, in the middle of epoch 3


def test_the_schedule_depends_only_on_the_position():
    """A resumed run asks for the same steps and gets the same factors, in any order."""
    schedule = parse_beta_schedule("cyclical:3:0.4")
    forward = [schedule.factor(t, 6, 5) for t in range(30)]
    assert [schedule.factor(t, 6, 5) for t in reversed(range(12, 30))] == forward[12:][::-1]


@pytest.mark.parametrize("text, canonical", [
    ("constant", "constant"), ("warmup:5", "warmup:5"), ("Warm-up:5", "warmup:5"), (" cyclical:4 ", "cyclical:4:0.5"),
    ("cyclical:4:0.25", "cyclical:4:0.25"), ("cyclical:2:1", "cyclical:2:1.0")])
def test_schedules_parse_to_a_canonical_text_that_round_trips(text, canonical):
    schedule = parse_beta_schedule(text)
    assert str(schedule) == canonical and parse_beta_schedule(canonical) == schedule
    config = TrainConfig(beta_schedule=text, free_bits=0.25)
    assert config.beta_schedule == canonical and TrainConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("bad", ["", "linear", "warmup", "warmup:0", "warmup:1.5", "warmup:x", "cyclical:0",
                                 "cyclical:2:0", "cyclical:2:1.5", "cyclical:2:nan", "cyclical:2:0.5:1",
                                 "constant:3", 3, None])
def test_bad_schedules_are_refused_naming_the_field(bad):
    with pytest.raises(ConfigError) as error:
        TrainConfig(beta_schedule=bad)
    assert error.value.field == "beta_schedule"


@pytest.mark.parametrize("bad", [-0.1, 10.5, float("nan"), "1", True])
def test_bad_free_bits_are_refused(bad):
    with pytest.raises(ConfigError, match="free_bits"):
        TrainConfig(free_bits=bad)


def test_files_without_the_new_settings_still_load():
    old = {"dataset": "mnist-sample", "epochs": 3, "batch_size": 64, "lr": 0.002, "seed": 0, "device": "cpu",
           "val_fraction": 0.1, "step_report_every": 1}
    config = TrainConfig.from_dict(old)
    assert config.beta_schedule == "constant" and config.free_bits == 0.0


# ----- free bits -----
def test_free_bits_give_a_dimension_below_the_floor_no_kl_gradient():
    # dimension 0 sits near the prior (KL ~ 0.005 nats), dimension 1 far from it (KL ~ 2 nats)
    mu = torch.tensor([[0.1, 2.0], [-0.1, 1.8], [0.05, 2.2]], requires_grad=True)  # (B, latent)
    logvar = torch.tensor([[0.0, -1.0], [0.01, -0.9], [-0.01, -1.1]], requires_grad=True)
    logits, x = torch.zeros(3, 1, 1, 4), torch.full((3, 1, 1, 4), 0.5)
    free_bits = 0.5
    kl_j = kl_per_dimension(mu, logvar).mean(0).detach()
    assert kl_j[0] < free_bits < kl_j[1]
    total, recon, kl = loss_terms(logits, x, mu, logvar, "bce", 3.0, free_bits)
    assert total.item() == pytest.approx(recon.item() + 3.0 * (free_bits + kl_j[1].item()), rel=1e-6)
    assert kl.item() == pytest.approx(kl_j.sum().item(), rel=1e-6)  # the plain KL is still reported
    total.backward()
    assert torch.all(mu.grad[:, 0] == 0) and torch.all(logvar.grad[:, 0] == 0)
    assert torch.all(mu.grad[:, 1] != 0) and torch.all(logvar.grad[:, 1] != 0)


def test_zero_free_bits_is_the_plain_kl():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    dims = kl_per_dimension(mu, logvar)
    assert free_bits_kl(dims, 0.0).item() == pytest.approx(dims.sum(1).mean().item(), rel=1e-6)
    logits, x = torch.randn(5, 1, 1, 4), torch.rand(5, 1, 1, 4)
    assert torch.equal(loss_terms(logits, x, mu, logvar, "bce", 2.0, 0.0)[0],
                       loss_terms(logits, x, mu, logvar, "bce", 2.0)[0])


# ----- runs -----
@pytest.mark.parametrize("schedule", ["warmup:2", "cyclical:2:0.5", "constant"])
def test_a_run_logs_the_scheduled_beta_at_every_step(schedule, tiny_data):
    model_config = ModelConfig(hidden=(32,), latent_dim=4, beta=2.0)
    config = _config(beta_schedule=schedule)
    reports = []
    result = Trainer(model_config, config, tiny_data, on_step=reports.append).run()
    assert result.status == "finished" and len(reports) == 18
    plan = parse_beta_schedule(schedule)
    for row in result.history.steps:  # global_step counts steps done: the step's own index is one less
        assert row.beta == pytest.approx(2.0 * plan.factor(row.global_step - 1, 6, 3))
    for report in reports:
        assert report.loss == pytest.approx(report.recon + report.beta * report.kl, rel=1e-5)
        assert report.kl_optimised == report.kl
    for epoch in result.history.epochs:  # the beta in force at the epoch's last step
        assert epoch.beta == result.history.steps_in_epoch(epoch.epoch - 1)[-1].beta


def test_warmup_starts_from_zero_beta(tiny_data):
    result = Trainer(SMALL, _config(epochs=1, beta_schedule="warmup:1"), tiny_data).run()
    assert [row.beta for row in result.history.steps] == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])


def test_reports_averaging_several_steps_log_their_mean_beta(tiny_data):
    result = Trainer(SMALL, _config(epochs=1, beta_schedule="warmup:1", step_report_every=3), tiny_data).run()
    assert [row.beta for row in result.history.steps] == pytest.approx([1 / 6, 4 / 6])  # (0+1+2)/18, (3+4+5)/18


def test_a_run_with_free_bits_optimises_the_floored_kl(tiny_data):
    reports = []
    result = Trainer(SMALL, _config(epochs=1, free_bits=2.0), tiny_data, on_step=reports.append).run()
    assert result.status == "finished"
    for report in reports:
        assert report.kl_optimised >= report.kl and report.kl_optimised >= 4 * 2.0 - 1e-4
        assert report.loss == pytest.approx(report.recon + report.beta * report.kl_optimised, rel=1e-5)


def test_the_schedule_travels_in_the_model_file_and_resume_continues_it(tiny_data, tmp_path):
    config = _config(beta_schedule="cyclical:2:0.5", free_bits=0.1)
    whole = Trainer(SMALL, config, tiny_data).run()

    control, path = TrainingControl(), tmp_path / "part.safetensors"
    first = Trainer(SMALL, config, tiny_data, checkpoint_path=path, control=control,
                    on_epoch=lambda report: control.request_stop()).run()
    assert first.status == "cancelled" and first.position.epoch == 1
    record = load_checkpoint(path)
    assert record.train_config.beta_schedule == "cyclical:2:0.5" and record.train_config.free_bits == 0.1
    resumed = Trainer(SMALL, record.train_config, tiny_data, resume=record).run()
    assert resumed.status == "finished"
    assert [r.beta for r in resumed.history.steps] == [r.beta for r in whole.history.steps]
    assert [r.beta for r in resumed.history.epochs] == [r.beta for r in whole.history.epochs]
    assert [r.loss for r in resumed.history.steps] == pytest.approx([r.loss for r in whole.history.steps], rel=1e-5)


# ----- posterior collapse -----
def test_the_collapse_flag_fires_on_a_collapsed_model_only(tiny_data, trained_vae_checkpoint):
    collapsed = Trainer(ModelConfig(hidden=(64,), latent_dim=16, beta=50.0), _config(), tiny_data).run().model
    metrics = evaluate(collapsed, tiny_data.test_x, tiny_data.test_y)
    assert metrics["posterior_collapse"] is True and metrics["active_units"] == 0
    normal = evaluate(load_checkpoint(trained_vae_checkpoint).build_model(), tiny_data.test_x, tiny_data.test_y)
    assert normal["posterior_collapse"] is False and max(normal["kl_per_dim"]) > 1.0


def test_an_autoencoder_has_no_collapse_flag(tiny_data):
    model = Trainer(ModelConfig(kind="ae", hidden=(32,)), _config(epochs=1), tiny_data).run().model
    assert evaluate(model, tiny_data.test_x, tiny_data.test_y)["posterior_collapse"] is None


# ----- the command line -----
def _run(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = run_cli([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


def test_the_flags_parse():
    args = build_parser().parse_args(["train", "--beta-schedule", "cyclical:4", "--free-bits", "0.5"])
    assert args.beta_schedule == "cyclical:4" and args.free_bits == 0.5
    args = build_parser().parse_args(["train"])
    assert args.beta_schedule is None and args.free_bits is None


@pytest.mark.parametrize("flag, value, words", [
    ("--beta-schedule", "linear", "constant, warmup:EPOCHS or cyclical"), ("--beta-schedule", "warmup:0", "from 1"),
    ("--beta-schedule", "cyclical:2:2", "at most 1"), ("--free-bits", "-1", "from 0"),
    ("--free-bits", "nan", "free")])
def test_bad_flags_exit_2_with_one_line(flag, value, words, tmp_path):
    status, out, err = _run("train", flag, value, "--out", tmp_path / "m.safetensors")
    lines = err.strip().splitlines()
    assert status == 2 and out == "" and len(lines) == 1
    assert lines[0].startswith(f"latent-morph train: error: argument {flag}: ") and words in lines[0]
    assert not (tmp_path / "m.safetensors").exists()


def test_cli_train_records_the_schedule_and_resume_continues_it(tmp_path):
    common = ["--dataset", "mnist-sample", "--hidden", "32", "--latent-dim", "4", "--batch-size", "500",
              "--device", "cpu", "--json"]
    whole, part = tmp_path / "whole.safetensors", tmp_path / "part.safetensors"
    status, out, err = _run("train", *common, "--epochs", "2", "--beta-schedule", "warmup:2", "--free-bits", "0.1",
                            "--out", whole)
    assert status == 0, err
    printed = json.loads(out)
    assert printed["beta_schedule"] == "warmup:2" and printed["free_bits"] == 0.1
    assert printed["posterior_collapse"] is False
    assert _run("train", *common, "--epochs", "1", "--beta-schedule", "warmup:2", "--free-bits", "0.1",
                "--out", part)[0] == 0
    status, out, err = _run("train", "--resume", part, "--epochs", "2", "--beta-schedule", "cyclical:2",
                            "--out", part)
    assert status == 2 and "--beta-schedule cannot change when resuming" in err and "warmup:2" in err
    status, out, err = _run("train", "--resume", part, "--epochs", "2", "--beta-schedule", "warmup:2",
                            "--device", "cpu", "--json", "--out", part)  # the recorded schedule, restated
    assert status == 0, err
    resumed, uninterrupted = load_checkpoint(part), load_checkpoint(whole)
    assert resumed.train_config.beta_schedule == "warmup:2"
    assert resumed.history.step_column("beta").tolist() == uninterrupted.history.step_column("beta").tolist()
    assert resumed.history.step_column("beta")[0] == 0.0 and resumed.history.epochs[-1].beta < 1.0


def test_evaluate_prints_the_collapse_flag_beside_the_active_units(trained_vae_checkpoint):
    status, out, err = _run("evaluate", "--checkpoint", trained_vae_checkpoint, "--iw-samples", "0", "--json")
    assert status == 0, err
    printed = json.loads(out)
    assert printed["posterior_collapse"] is False and "active_units" in printed

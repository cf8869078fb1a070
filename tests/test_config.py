import pytest
import yaml

from tfgan_app.config import resolve_config
from tfgan_app.errors import ConfigError, UsageError


def test_defaults_then_variant_delta_file(tmp_path):
    (tmp_path / "gan.yaml").write_text("train:\n  epochs: 7\n")
    cfg = resolve_config("gan", config_dir=tmp_path)
    assert cfg.train.epochs == 7
    assert cfg.train.batch_size == 64  # untouched default
    assert cfg.options.loss == "non_saturating"


def test_shipped_delta_files_are_valid():
    from tfgan_app.registry import variant_names

    for name in variant_names():
        assert resolve_config(name).variant == name


def test_precedence_file_then_flags_then_set(tmp_path):
    user = tmp_path / "user.yaml"
    user.write_text("train:\n  epochs: 3\n  g_lr: 1e-4\ngan:\n  loss: minimax\n")
    cfg = resolve_config("gan", config_file=user, flags={"train.epochs": 5, "train.seed": None},
                         sets=["train.seed=9", "train.d_lr=0.001", "gan.label_smoothing=0.1"])
    assert cfg.train.epochs == 5  # flag beats file
    assert cfg.train.g_lr == pytest.approx(1e-4)  # YAML 1.1 string "1e-4" accepted as float
    assert cfg.train.seed == 9 and cfg.train.d_lr == pytest.approx(0.001)
    assert cfg.options.loss == "minimax" and cfg.options.label_smoothing == pytest.approx(0.1)


@pytest.mark.parametrize("sets, message", [
    (["train.epoch=3"], "unknown config key 'train.epoch' (did you mean 'train.epochs'?)"),
    (["train.epochs=three"], "config key 'train.epochs' must be int; got 'three'"),
    (["train.epochs=0"], "config key 'train.epochs' must be >= 1"),
    (["train.g_lr=nan"], "config key 'train.g_lr' must be float"),
    (["gan.loss=wasserstein"],
     "config key 'gan.loss' must be one of non_saturating, minimax, hinge"),
    (["model.architecture=resnet"], "'model.architecture' must be one of auto, mlp, dcgan"),
    (["began.gamma=0.5"], "unknown config section 'began'"),
    (["epochs=3"], "--set expects section.key=value"),
    (["train.epochs"], "--set expects section.key=value"),
])
def test_bad_set_values_name_the_key(sets, message):
    with pytest.raises(ConfigError) as err:
        resolve_config("gan", sets=sets)
    assert message in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("text, message", [
    ("train:\n  batch_size: 1.5\n", "'train.batch_size' must be int; got 1.5"),
    ("train:\n  epochs: true\n", "'train.epochs' must be int; got True"),
    ("trian:\n  epochs: 2\n", "unknown config section 'trian' (did you mean 'train'?)"),
    ("train: 5\n", "config section 'train' must be a mapping"),
    ("- a\n- b\n", "expected a mapping of sections"),
    ("variant: dcgan\n", "it is a config for variant 'dcgan'"),
    ("train: [unclosed\n", "is not valid YAML"),
])
def test_bad_config_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        resolve_config("gan", config_file=path)
    assert message in str(err.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found: nope.yaml"):
        resolve_config("gan", config_file="nope.yaml")


def test_unknown_variant_lists_valid_names():
    with pytest.raises(UsageError) as err:
        resolve_config("stylegan")
    assert ("unknown variant 'stylegan'; valid variants: acgan, began, cgan, cyclegan, dcgan, "
            "dragan, ebgan, gan, infogan, inpaint, lsgan, pix2pix, srgan, wgan, "
            "wgan_gp") in str(err.value)


def test_resolved_config_yaml_round_trips(tmp_path):
    cfg = resolve_config("dcgan", sets=["train.seed=3", "model.latent_dim=16"])
    written = tmp_path / "config.yaml"
    written.write_text(cfg.to_yaml())
    assert yaml.safe_load(written.read_text())["variant"] == "dcgan"
    again = resolve_config("dcgan", config_file=written)
    assert again.to_dict() == cfg.to_dict()


def test_resumable_keys_come_from_the_option_metadata():
    cfg = resolve_config("wgan_gp")
    keys = cfg.resumable_keys()
    assert {"train.epochs", "train.strategy", "train.precision", "train.export"} <= keys
    assert not keys & {"train.batch_size", "train.seed", "train.g_lr", "model.latent_dim",
                       "wgan_gp.gp_weight", "data.dataset"}


def test_defaults_are_the_code_defaults_of_every_section():
    from tfgan_app.config import RunConfig

    cfg = RunConfig.defaults("wgan")
    assert cfg.train.epochs == 20 and cfg.options.clip == 0.01  # configs/wgan.yaml not applied
    assert set(cfg.to_dict()) == {"variant", "data", "model", "train", "wgan"}


def test_a_changed_key_stops_a_resume_naming_old_and_new_values(tmp_path):
    """The saved run config against the new one: keys the app added after the run started
    count as their code default (what the run used), in the check and in the message."""
    from tfgan_app.training import check_resumable

    old = ["model.d_filters=64", "train.diffaugment_fill=0"]  # a former digits default
    saved = resolve_config("began", sets=old).to_dict()
    del saved["train"]["diffaugment_fill"]  # a run from before the key existed
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint").write_text("")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    check_resumable(tmp_path, resolve_config("began", sets=old))
    check_resumable(tmp_path, resolve_config("began", sets=[*old, "train.epochs=500"]))
    new = ["model.d_filters=16", "train.diffaugment_fill=-1"]
    with pytest.raises(UsageError, match=r"different configuration \(model.d_filters: 64 -> "
                                         r"16, train.diffaugment_fill: 0.0 -> -1.0\)"):
        check_resumable(tmp_path, resolve_config("began", sets=new))

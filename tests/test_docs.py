"""The documentation: the generated configuration page matches the code."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_tool(name: str):
    """Import tools/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_page_is_generated_from_the_code():
    make_docs = load_tool("make_docs")
    expected = make_docs.render()
    actual = (ROOT / "docs" / "configuration.md").read_text()
    assert actual == expected, "docs/configuration.md is stale: run python tools/make_docs.py"


def test_configuration_page_lists_every_key_with_its_code_default():
    text = load_tool("make_docs").render()
    # Values straight from the option() fields, including a variant's own default for a
    # key every variant shares (wgan's n_critic).
    assert "| `train.batch_size` | `64` | int ≥ 1 | global batch size, split across replicas |" \
        in text
    assert "| `model.upsample` | `transpose` | `transpose`, `resize` |" in text
    assert "| `<variant>.d_steps` | `1` | int ≥ 1 |" in text
    assert "| `wgan.d_steps` | `5` | int ≥ 1 |" in text
    assert "| `began.gamma` | `0.5` | float in [0.0, 1.0] |" in text
    assert "`gan.d_steps`" not in text  # shared keys are listed once
    sources = text.split("## Where values come from")[1].split("##")[0]
    assert sources.index("code defaults") < sources.index("configs/<variant>.yaml") \
        < sources.index("--config FILE") < sources.index("--set key=value")
    assert "[configs/wgan_gp.yaml](../configs/wgan_gp.yaml)" in text


def test_make_docs_check_fails_on_a_stale_page(tmp_path, monkeypatch, capsys):
    make_docs = load_tool("make_docs")
    page = tmp_path / "docs" / "configuration.md"
    page.parent.mkdir()
    monkeypatch.setattr(make_docs, "ROOT", tmp_path)
    monkeypatch.setattr(make_docs, "PAGE", page)
    page.write_text("# Configuration reference\n\nold\n")
    assert make_docs.main(["--check"]) == 1
    assert "run python tools/make_docs.py" in capsys.readouterr().err
    assert page.read_text() == "# Configuration reference\n\nold\n"  # --check writes nothing
    assert make_docs.main([]) == 0
    assert page.read_text() == make_docs.render()
    assert make_docs.main(["--check"]) == 0

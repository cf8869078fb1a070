"""The documentation: README as a short front page, docs/ pages whose links resolve, and
a configuration reference generated from the code."""

import json
import re
from pathlib import Path

import pytest
from helpers import load_tool

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 20_000  # characters: the README is a front page; reference goes to docs/
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


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


def doc_pages() -> list[Path]:
    return [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def without_code(text: str) -> str:
    """Markdown text without fenced code blocks and inline code (no links live there)."""
    return re.sub(r"`[^`\n]*`", "", without_fences(text))


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    seen, out = {}, set()
    for line in without_fences(path.read_text()).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text) <= README_LIMIT, f"README.md has {len(text)} characters"
    # The quickstart commands, exactly (.ci/run runs the test command).
    assert "pip install -e . && python -m tfgan_app.train --variant began\n" in text
    assert 'pip install -e ".[test]" && python -m pytest -q -n 2 --dist loadfile tests\n' in text
    linked = {Path(t.split("#")[0]).as_posix() for t in LINK.findall(without_code(text))}
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    assert pages <= linked, "README must link every docs/ page"
    headings = re.findall(r"^#+ .*$", text, flags=re.M)
    assert len(headings) == len(set(headings)), "a heading appears twice"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(without_code(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        name = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)
        if not file.exists():
            broken.append(f"{target} (no file {name})")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no heading #{anchor} in {name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {', '.join(broken)}"


def test_design_md_citations_in_code_resolve():
    cited = []
    for source in sorted(ROOT.rglob("*.py")):
        parts = source.relative_to(ROOT).parts
        if any(p.startswith(".") or p in ("build", "runs") for p in parts):
            continue  # virtual environments (.ci/venv), build output, training runs
        for match in re.finditer(r"[\w./-]*DESIGN\.md", source.read_text()):
            cited.append((source.relative_to(ROOT).as_posix(), match.group(0)))
    assert len(cited) >= 4  # export/saved_model.py, performance.py, setup.py, test_distribute
    missing = [f"{source}: {name}" for source, name in cited if not (ROOT / name).is_file()]
    assert not missing, f"cited but missing (should be docs/DESIGN.md): {missing}"
    design = (ROOT / "docs/DESIGN.md").read_text()
    for cited_topic in ("## The serving contract", "## Distribution exactness",
                        "## Speed rules, as measured", "importlib_resources",
                        "The 2-replica test", "## Layering", "## How to add a variant"):
        assert cited_topic in design


def outside(text: str, start: str, end: str) -> tuple[str, str]:
    return text.split(start)[0], text.split(end)[1]


def test_quality_benchmark_rewrites_only_its_block_of_a_copy_of_the_page(tmp_path, capsys):
    quality = load_tool("benchmark_quality")
    assert quality.PAGE == ROOT / "docs" / "benchmarks.md"  # the default --page
    page = tmp_path / "benchmarks.md"
    original = (ROOT / "docs" / "benchmarks.md").read_text()
    page.write_text(original)
    # One finished run as the training command leaves it: config.yaml and history.csv.
    run = tmp_path / "out" / "ring" / "gan" / "seed_0"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("variant: gan\ntrain:\n  epochs: 2\n")
    (run / "history.csv").write_text("epoch,seconds,d_loss,g_loss,eval/modes,eval/hq,eval/kl\n"
                                     "1,1.0,1.2,0.7,,,\n"
                                     "2,3.0,1.1,0.8,8,0.975,0.0213\n")
    # and a stabilizer arm's run of the same variant
    arm = tmp_path / "out" / "ring" / "gan" / "ema" / "seed_0"
    arm.mkdir(parents=True)
    (arm / "config.yaml").write_text((run / "config.yaml").read_text())
    (arm / "history.csv").write_text((run / "history.csv").read_text().replace(",8,", ",7,"))
    assert quality.main(["--report-only", "--out", str(tmp_path / "out"),
                         "--page", str(page)]) == 0
    text = page.read_text()
    start, end = quality.MARK_START, quality.MARK_END
    assert outside(text, start, end) == outside(original, start, end)
    block = text.split(start)[1].split(end)[0]
    # epochs x the median epoch time (3.0 s of [1.0, 3.0]) = 6 s
    assert "| `gan` | 1/1 | 8.0 | 97.5 | 0.02 | 6 s |" in block
    assert "| `gan` | ema | 1/1 | 7.0 (-1.0) | 97.5 (+0.0) | 0.02 (+0.00) | 6 s |" in block
    assert "| `wgan` | 0 | not run yet | | | |" in block
    assert "**grid**" not in block and "**digits**" not in block
    assert "<!-- speed:start -->" in text.split(end)[1]  # the speed block is untouched

    page.write_text("# no markers\n")
    with pytest.raises(SystemExit) as exc:
        quality.main(["--report-only", "--out", str(tmp_path / "out"), "--page", str(page)])
    assert exc.value.code == 2
    assert "has no <!-- benchmark:start --> ... <!-- benchmark:end --> block" \
        in capsys.readouterr().err


def test_speed_benchmark_rewrites_only_its_block_of_a_copy_of_the_page(tmp_path, monkeypatch):
    speed = load_tool("benchmark_speed")
    assert speed.PAGE == ROOT / "docs" / "benchmarks.md"  # the default --page
    page = tmp_path / "benchmarks.md"
    original = (ROOT / "docs" / "benchmarks.md").read_text()
    page.write_text(original)
    result = {"batch_size": 64, "images_per_sec": 2390.4, "step_ms": 26.78,
              "flops_per_step": 3.7e9, "peak_fraction": 0.46, "peak_gflop_per_sec": 297.2,
              "peak_dtype": "float32"}
    results = tmp_path / "speed.json"
    results.write_text(json.dumps({"dcgan digits 16x16, float32": result}))
    # The one selected case has a result already, so no benchmark may run (minutes each).
    monkeypatch.setattr(speed, "run_case", lambda args: pytest.fail(f"ran {args}"))
    assert speed.main(["--cases", "16x16, float32", "--json", str(results),
                       "--page", str(page)]) == 0
    text = page.read_text()
    assert outside(text, speed.MARK_START, speed.MARK_END) == \
        outside(original, speed.MARK_START, speed.MARK_END)
    block = text.split(speed.MARK_START)[1].split(speed.MARK_END)[0]
    assert block == (
        "\n| case | images/s | ms/step | GFLOP/step | % of peak (dtype) | speed-up |\n"
        "|---|---|---|---|---|---|\n"
        "| dcgan digits 16x16, float32 (batch 64) | 2390 | 26.8 | 3.7 | 46% of 297 GFLOP/s "
        "(float32) | reference |\n\nCommands:\n\n"
        "- dcgan digits 16x16, float32: `python -m tfgan_app.benchmark --variant dcgan "
        "--batch-size 64 --steps 56`\n")


def test_speed_table_runs_the_keras_io_baseline_from_tools():
    speed = load_tool("benchmark_speed")
    result = {"batch_size": 512, "images_per_sec": 50.2, "step_ms": 10189.3,
              "flops_per_step": 2.1863e12, "peak_fraction": 0.67, "peak_gflop_per_sec": 322.0,
              "peak_dtype": "float32"}
    text = speed.table({"keras.io WGAN-GP baseline, float32": result})
    assert "- keras.io WGAN-GP baseline, float32: `python tools/benchmark_baseline.py " \
        "--batch-size 512 --steps 5 --warmup 2`" in text
    assert speed.command(["--variant", "gan"]) == ["-m", "tfgan_app.benchmark", "--variant",
                                                   "gan"]

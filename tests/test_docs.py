"""The documentation: README as a short front page, docs/ pages whose links resolve, and
a configuration reference generated from the code."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 20_000  # characters: the README is a front page; reference goes to docs/
# Pages another branch adds (linked from here before it is merged): a link to one of them
# may point nowhere while the page is absent; once it exists it is checked like the rest.
EXPECTED_FROM_OTHER_BRANCHES = {"docs/recovery.md"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


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
    assert 'pip install -e ".[test]" && python -m pytest -q tests\n' in text
    linked = {Path(t.split("#")[0]).as_posix() for t in LINK.findall(without_code(text))}
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    assert pages | EXPECTED_FROM_OTHER_BRANCHES <= linked, "README must link every docs/ page"
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
            if name not in EXPECTED_FROM_OTHER_BRANCHES:
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

"""DVC's own tools on the tiny pipeline (conftest's ``pipeline``): readable metrics, failed
stages that lose nothing, queued experiments, offline plots, a cache on another disk, and
the committed dvc.lock check. Every test leaves the project as it found it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dvc_project import DvcProject, ran_stages
from lock_status import clone_status, stale_entries

from fmagenre.models.names import MODEL_NAMES

pytestmark = pytest.mark.e2e

# The experiment views docs/experiments.md documents: `make exps` (its recipe, run here as
# written) and the --only-changed view with the dependency hashes dropped.
MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"
ONLY_CHANGED = ("--only-changed", "--drop", "^(data|models|reports)/")
SPLIT_FILES = ("metrics/val.json", "metrics/test.json")  # compare's macro-F1, keyed by model


def make_recipe(target: str) -> list[list[str]]:
    """The commands of a Makefile target, as argument lists run by this python."""
    lines = MAKEFILE.read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        words = shlex.split(line.strip().replace("$$", "$"))
        assert words[0] == "$(BIN)/python", line
        commands.append([sys.executable, *words[1:]])
    return commands


def exp_show(project: DvcProject, *args: str) -> str:
    """A `dvc exp show` command at its natural width: a terminal wide enough that DVC hides
    no column."""
    assert list(args[:3]) == ["exp", "show", "--no-pager"], args
    return subprocess.run(
        [*project.dvc_command(), *args],
        cwd=project.root,
        env={**project.env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def columns(shown: str) -> tuple[int, list[str]]:
    """A rendered table's width and its header's column names."""
    lines = shown.splitlines()
    header = next(line for line in lines if "Experiment" in line)
    return max(len(line.rstrip()) for line in lines), header.split()


@pytest.fixture()
def project(pipeline):
    return pipeline


def assert_as_committed(project: DvcProject) -> None:
    """The workspace's outputs are the committed run's (dvc.lock), params and lock untouched."""
    assert "up to date" in project.dvc("status").stdout
    assert project.git("status", "--porcelain").stdout == ""


def undo_and_repro(project: DvcProject) -> tuple[list[str], float]:
    """Revert params.yaml as the README says, then `dvc repro`: the stages that ran, and how
    long it took."""
    project.git("checkout", "--", "params.yaml")
    began = time.perf_counter()
    ran = project.repro()
    return ran, time.perf_counter() - began


def assert_one_line_failure(result: subprocess.CompletedProcess, line: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert line in result.stderr, output[-2000:]
    assert "Traceback" not in output


# -- metrics a person can read ------------------------------------------------------------


def leaves(data: dict, prefix: str = "") -> set[str]:
    """The flattened keys of nested metrics, as DVC names them (``val.rf``)."""
    names: set[str] = set()
    for key, value in data.items():
        name = f"{prefix}{key}"
        names |= leaves(value, f"{name}.") if isinstance(value, dict) else {name}
    return names


def test_metrics_are_the_compared_figures_under_short_keys(project):
    metrics = json.loads(project.dvc("metrics", "show", "--json").stdout)
    (workspace,) = metrics.values()  # DVC names the workspace "" here
    files = workspace["data"]
    keys = {key for entry in files.values() for key in leaves(entry["data"])}
    assert keys == {"best", *MODEL_NAMES, "tracks", "usable"}
    assert set(files["metrics/compare.json"]["data"]) == {"best"}
    for path in SPLIT_FILES:
        assert list(files[path]["data"]) == list(MODEL_NAMES)
    # one row per file and a column per key: a row per split, a column per model
    shown = project.dvc("metrics", "show").stdout.splitlines()
    print(f"dvc metrics show: {max(len(line) for line in shown)} columns")
    assert max(len(line) for line in shown) <= 120, "\n".join(shown)


def test_exp_show_has_one_metric_column_per_compared_figure(project):
    table = json.loads(project.dvc("exp", "show", "--json").stdout)
    names = {
        (path, name)
        for row in table
        for path, entry in (row["data"]["metrics"] or {}).items()
        for name in leaves(entry["data"])
    }
    assert {name for path, name in names if path == "metrics/compare.json"} == {"best"}
    for split_file in SPLIT_FILES:
        assert {name for path, name in names if path == split_file} == set(MODEL_NAMES)
    # and besides them only the five stages' counts
    assert {path for path, _ in names} - {"metrics/compare.json", *SPLIT_FILES} == {
        f"metrics/{stage}.json"
        for stage in ("fetch", "manifest", "features", "spectrograms", "embeddings")
    }
    assert len(names) == 1 + 2 * len(MODEL_NAMES) + 5


# -- nothing is lost when a stage fails -----------------------------------------------------


def test_a_bad_subset_fails_with_one_line_and_loses_nothing(project):
    project.set_params(data={"subset": "foo"})
    result = project.dvc("repro", check=False)
    assert_one_line_failure(
        result, "[synth] error: params.yaml: data.subset = 'foo' is not allowed"
    )
    assert (project.root / "data" / "fma").is_dir()  # the first stage failed: fetch never ran
    ran, seconds = undo_and_repro(project)
    assert ran == []
    assert_as_committed(project)
    print(f"data.subset: foo, undone in {seconds:.1f} s")


def test_a_bad_sample_rate_fails_with_one_line_and_the_audio_comes_back_from_the_cache(project):
    project.set_params(audio={"sr": 0})
    result = project.dvc("repro", check=False)
    assert_one_line_failure(result, "[decode] error: params.yaml: audio.sr = 0 is not allowed")
    assert ran_stages(result.stdout + result.stderr) == ["decode"]
    ran, seconds = undo_and_repro(project)
    assert ran == []  # "Stage 'decode' is cached": restored, not decoded again
    assert_as_committed(project)
    print(f"audio.sr: 0, undone in {seconds:.1f} s")


def test_an_offline_real_fma_attempt_fails_with_one_line_and_loses_nothing(project):
    # README's real-FMA command; the server refuses connections (TINY_PARAMS: OFFLINE)
    result = project.dvc(
        "exp", "run", "-S", "data.subset=small", "-S", "audio.duration=30", check=False
    )
    assert_one_line_failure(result, "[fetch] error: cannot reach http://127.0.0.1:9/")
    assert "git checkout params.yaml" in result.stderr  # the way back, in the message
    ran, seconds = undo_and_repro(project)
    assert ran == []
    assert_as_committed(project)
    print(f"offline data.subset=small, undone in {seconds:.1f} s")


def test_an_experiment_with_a_bad_learning_rate_fails_with_one_line_and_loses_no_model(project):
    result = project.dvc("exp", "run", "-S", "model.lr=abc", check=False)
    assert_one_line_failure(
        result, "[train_crnn] error: params.yaml: model.lr = 'abc' is not allowed"
    )
    ran, seconds = undo_and_repro(project)
    assert ran == []  # models/crnn restored from the cache, not retrained
    assert_as_committed(project)
    print(f"model.lr=abc, undone in {seconds:.1f} s")


# -- experiments ----------------------------------------------------------------------------


def test_a_temp_experiment_reruns_only_the_crnn_and_compare(project):
    params = (project.root / "params.yaml").read_text()
    result = project.dvc("exp", "run", "--temp", "-S", "model.lr=0.005")
    assert ran_stages(result.stdout + result.stderr) == ["train_crnn", "train_ensemble", "compare"]
    assert (project.root / "params.yaml").read_text() == params  # the workspace is untouched
    project.dvc("exp", "remove", "--all-commits")


def test_a_queued_learning_rate_grid_reruns_only_the_crnn_and_compare(project):
    queued = project.dvc("exp", "run", "--queue", "-S", "model.lr=0.001,0.01")
    names = re.findall(r"Queued experiment '([\w-]+)'", queued.stdout + queued.stderr)
    assert len(names) == 2
    project.dvc("queue", "start", "--jobs", "1")
    deadline = time.time() + 600
    while time.time() < deadline:
        status = project.dvc("queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(2)
    assert status.count("Success") == 2, status
    for name in names:
        log = project.dvc("queue", "logs", name).stdout
        assert ran_stages(log) == ["train_crnn", "train_ensemble", "compare"], log[-3000:]
    table = json.loads(project.dvc("exp", "show", "--json").stdout)
    rates = sorted(
        rev["data"]["params"]["params.yaml"]["data"]["model"]["lr"]
        for row in table
        for experiment in row.get("experiments") or []
        for rev in experiment["revs"]
    )
    assert rates == [0.001, 0.01]
    # the documented views of these experiments, at their natural width
    (command,) = make_recipe("exps")
    shown = project.run(*command).stdout
    lines = shown.splitlines()
    width = max(len(line) for line in lines)
    print(f"make exps: {width} columns\n{shown}")
    assert width <= 120 and lines[0].split() == ["experiment", "model.lr", "split", *MODEL_NAMES]
    shown_rates = []
    for name in names:  # both experiments: their rate, then every model's val and test F1
        val, test = lines[[line.split()[0] for line in lines].index(name) :][:2]
        assert val.split()[2] == "val" and test.split()[0] == "test", shown
        shown_rates.append(float(val.split()[1]))
        figures = [*val.split()[3:], *test.split()[1:]]
        assert len(figures) == 2 * len(MODEL_NAMES) and all(0 <= float(f) <= 1 for f in figures)
    assert sorted(shown_rates) == rates
    width, _ = columns(exp_show(project, "exp", "show", "--no-pager"))
    print(f"exp show (every param and dependency hash): {width} columns")
    shown = exp_show(project, "exp", "show", "--no-pager", *ONLY_CHANGED)
    width, header = columns(shown)
    print(f"exp show {' '.join(ONLY_CHANGED)}: {width} columns\n{shown}")
    assert width <= 160 and "…" not in shown, shown
    assert {"model.lr", "metrics/val.json:crnn", "metrics/test.json:crnn"} <= set(header)
    project.dvc("exp", "remove", "--all-commits")


# -- plots ----------------------------------------------------------------------------------


def plots_page(project: DvcProject, out: Path) -> str:
    project.dvc("plots", "show", "--out", str(out))
    return (out / "index.html").read_text(encoding="utf-8")


def test_plots_page_loads_nothing_from_the_network(project, tmp_path):
    html = plots_page(project, tmp_path / "plots")
    assert not re.search(r"<script[^>]+src=", html)  # no CDN: DVC's default page has three
    for library in ("vega@5.33.1", "vega-lite@5.23.0", "vega-embed@6.29.0"):
        assert f"/* {library} " in html
    assert "vegaEmbed(" in html and "cdn.jsdelivr" not in html


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the JavaScript")
def test_every_chart_renders_offline_with_the_vendored_libraries(project, tmp_path):
    """Compile and render every chart of the page to SVG with the page's own vega, vega-lite
    (node, no network), as a browser would."""
    html = plots_page(project, tmp_path / "plots")
    scripts = re.findall(
        r"<script>/\* [\w@.-]+ \(package/build/[\w.-]+\) \*/\n(.*?)\n</script>", html, re.S
    )
    assert len(scripts) == 3
    (tmp_path / "vega.js").write_text(scripts[0])
    (tmp_path / "vega-lite.js").write_text(scripts[1])
    specs = [json.loads(spec) for spec in re.findall(r"var spec = (.*);$", html, re.M)]
    titles = [
        spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]
        for spec in specs
    ]
    assert sorted(titles) == sorted(
        [
            f"{model}, test split"
            for model in (
                "Random Forest",
                "SVM (RBF)",
                "CatBoost",
                "CRNN",
                "musicnn embeddings",
                "Ensemble",
            )
        ]
        + ["CRNN training curves (crops)", "Per-genre F1 on the test split, every model"]
    )
    (tmp_path / "specs.json").write_text(json.dumps(specs))
    (tmp_path / "render.js").write_text(RENDER_JS)
    result = subprocess.run(
        ["node", "render.js"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    marks = json.loads(result.stdout)
    assert len(marks) == len(specs) and all(count > 0 for count in marks), marks


# The bundles are browser builds (UMD): run as plain scripts they define globalThis.vega and
# globalThis.vegaLite, as in the page.
RENDER_JS = """
const fs = require('fs');
const vm = require('vm');
vm.runInThisContext(fs.readFileSync('vega.js', 'utf8'));
vm.runInThisContext(fs.readFileSync('vega-lite.js', 'utf8'));
const vega = globalThis.vega;
const vegaLite = globalThis.vegaLite;
const specs = JSON.parse(fs.readFileSync('specs.json', 'utf8'));
(async () => {
  const counts = [];
  for (const spec of specs) {
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), {renderer: 'none'});
    const svg = await view.toSVG();
    counts.push((svg.match(/<path|<rect|<line|<circle/g) || []).length);
  }
  console.log(JSON.stringify(counts));
})().catch((error) => { console.error(error); process.exit(1); });
"""


# -- the committed dvc.lock ------------------------------------------------------------------


def test_the_lock_check_passes_on_a_matching_clone_and_names_a_stale_stage(project):
    assert stale_entries(clone_status(project.root)) == []
    code = project.root / "fmagenre" / "pipeline" / "manifest.py"
    original = code.read_text()
    code.write_text(original + "\n# changed\n")
    project.commit_all("a code change without rerunning")
    try:
        assert stale_entries(clone_status(project.root)) == [
            "manifest: fmagenre/pipeline/manifest.py modified"
        ]
    finally:
        project.git("reset", "-q", "--hard", "HEAD~1")


# -- a bigger disk ----------------------------------------------------------------------------


def test_a_cache_on_another_disk_holds_the_data_and_the_workspace_links_to_it(project, tmp_path):
    """README's recipe on a copy of the project: DVC's cache elsewhere, symlinks to it."""
    copy = DvcProject(tmp_path / "project")
    shutil.copytree(project.root, copy.root, symlinks=True)
    big = tmp_path / "bigdisk"
    copy.dvc("cache", "dir", "--local", str(big / "dvc-cache"))
    copy.dvc("config", "--local", "cache.type", "symlink")
    (big / "downloads").mkdir(parents=True)
    shutil.rmtree(copy.root / "data" / "downloads", ignore_errors=True)
    os.symlink(big / "downloads", copy.root / "data" / "downloads")  # not an output: may be a link
    copy.dvc("commit", "--force")  # moves every output into the new cache, links it back
    audio = copy.root / "data" / "audio" / "store.json"
    assert audio.is_symlink() and big in audio.resolve().parents
    assert "up to date" in copy.dvc("status").stdout
    # a stage writes through it, and what it writes lands on the big disk
    copy.dvc("repro", "--force", "--single-item", "manifest")
    assert (copy.root / "data" / "manifest.parquet").resolve().is_relative_to(big)
    # and a lost output comes back from there
    shutil.rmtree(copy.root / "data" / "spectrograms")
    copy.dvc("checkout", "data/spectrograms")
    assert (copy.root / "data" / "spectrograms" / "store.json").resolve().is_relative_to(big)
    assert copy.repro() == [] and "up to date" in copy.dvc("status").stdout

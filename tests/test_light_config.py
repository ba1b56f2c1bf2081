"""Reading an experiment or study file is light and complete: every name is checked against the
light name tables of kerasexp.registry (which must name exactly what the builder modules
register), data paths are checked, and a refusal leaves nothing behind, all before TensorFlow,
Keras or Optuna is imported."""

import ast
import importlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kerasexp import registry

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "optuna")
# The modules whose builders the name tables point at (importing them registers the builders).
BUILDER_MODULES = (
    "kerasexp.models.cnn",
    "kerasexp.models.ladder",
    "kerasexp.models.resnet",
    "kerasexp.models.transfer",
    "kerasexp.training.losses",
    "kerasexp.training.optimizers",
    "kerasexp.training.schedules",
    "kerasexp.evaluation.predict",
    "kerasexp.augment.policies",
    "kerasexp.data",
)
REGISTERING = ("model", "dataset", "policy", "optimizer", "schedule", "loss", "tta")


def test_each_name_table_is_what_its_builder_modules_register():
    for module in BUILDER_MODULES:
        importlib.import_module(module)
    for kind in REGISTERING:
        table = registry.NAME_TABLES[kind]
        assert sorted(table.registered) == sorted(table), kind
        for name in table:
            module, attr = table.target(name).split(":")
            builder = getattr(importlib.import_module(module), attr)
            assert builder is table.registered[name] is table[name], name


def test_backbones_and_pruners_name_what_keras_and_optuna_have():
    from kerasexp.models.transfer import PREPROCESSING

    assert sorted(PREPROCESSING) == sorted(registry.BACKBONES)
    assert all(callable(registry.BACKBONES[name]) for name in registry.BACKBONES)
    import optuna

    assert all(issubclass(registry.PRUNERS[name], optuna.pruners.BasePruner) for name in registry.PRUNERS)


def test_model_signatures_written_down_are_the_builders():
    from kerasexp.models.registry import _FIXED, SIGNATURES

    assert sorted(SIGNATURES) == sorted(registry.MODELS)
    for name in registry.MODELS:
        params = inspect.signature(registry.MODELS[name]).parameters
        assert SIGNATURES[name] == {k: p.default for k, p in params.items() if k not in _FIXED}, name


def test_data_path_checks_cover_every_dataset_and_fashion_mnist_files():
    from kerasexp.config import DATA_PATHS, FASHION_MNIST_FILES
    from kerasexp.data.fashion_mnist import FILES

    assert sorted(DATA_PATHS) == sorted(registry.DATASETS)
    assert FASHION_MNIST_FILES == tuple(FILES.values())


def test_config_imports_only_registry_and_errors():
    for path in (ROOT / "kerasexp" / "config.py", ROOT / "kerasexp" / "tuning" / "config.py"):
        found = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kerasexp")
        }
        allowed = {"kerasexp.registry", "kerasexp.errors"} | (
            # tuning may import lower layers' light modules (the subprocess test below checks no TF comes)
            {"kerasexp.config", "kerasexp.models.registry", "kerasexp.training.distribute"}
            if "tuning" in path.parts
            else set()
        )
        assert found <= allowed, (path, found - allowed)


FMNIST = '[dataset]\nname = "fashion_mnist"\nlimit = 200\n'
FOLDER = '[dataset]\nname = "image_folder"\ndata_dir = "{data}"\n'
STUDY = (
    '[model]\nname = "transfer"\n[study]\nn_trials = 2\n[search.params]\n'
    '"training.learning_rate" = { low = 1e-4, high = 1e-2 }\n'
)
# file name -> (text, the one line it must be refused with)
BAD_FILES = {
    "key.toml": ("[training]\nepoch = 3\n", "unknown key training.epoch; allowed keys in [training]: epochs"),
    "type.toml": ('[training]\nepochs = "ten"\n', "training.epochs = 'ten' has the wrong type"),
    "model.toml": (FMNIST + '[model]\nname = "resnet9000"\n', "unknown model 'resnet9000'"),
    "own_model.toml": (
        FMNIST + '[model]\nname = "no_such_pkg_x.models:cnn"\n',
        "no module 'no_such_pkg_x.models' on the Python path",
    ),
    "param.toml": (
        FMNIST + '[model]\nname = "baseline"\nparams = { dropuot = 0.1 }\n',
        "model.params 'dropuot' is not a parameter of 'baseline'",
    ),
    "backbone.toml": (
        FOLDER + '[model]\nname = "transfer"\nparams = { backbone = "MobileNetV9" }\n',
        "unknown backbone 'MobileNetV9'",
    ),
    "policy.toml": (
        FMNIST + '[augmentation]\npolicy = ["flip_translate", "mixupp"]\n',
        "unknown augmentation.policy 'mixupp'",
    ),
    "optimizer.toml": ('[training]\noptimizer = "adamm"\n', "unknown optimizer 'adamm'"),
    "data.toml": (
        '[dataset]\nname = "image_folder"\ndata_dir = "no/such/cells"\n',
        "no/such/cells: no such folder",
    ),
    "study.toml": (
        '[dataset]\nname = "image_folder"\ndata_dir = "no/such/cells"\n' + STUDY,
        "no/such/cells: no such folder",
    ),
    "study_choice.toml": (
        FOLDER + STUDY + '"augmentation.policy" = { choices = ["none", "cutot"] }\n',
        "unknown augmentation.policy 'cutot'",
    ),
}


def test_bad_files_are_refused_in_one_line_without_tensorflow_keras_or_optuna(tmp_path, pbc96_path):
    for name, (text, _) in BAD_FILES.items():
        (tmp_path / name).write_text(text.replace("{data}", str(pbc96_path)))
    code = textwrap.dedent(f"""
        import sys
        from kerasexp.cli.args import read_experiment, read_study
        from kerasexp.errors import UserError
        for name in {list(BAD_FILES)!r}:
            try:
                (read_study if name.startswith("study") else read_experiment)(name)
                print(name, "ACCEPTED")
            except UserError as err:
                print(name, err)
        print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    lines = out.stdout.splitlines()
    assert lines[-1] == "[]", lines[-1][:300]
    assert len(lines) == len(BAD_FILES) + 1, out.stdout + out.stderr
    for line, (name, (_, message)) in zip(lines, BAD_FILES.items()):
        assert line.startswith(name + " ") and message in line, line


def test_a_refused_study_creates_no_storage_and_no_trial(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(BAD_FILES["study.toml"][0])
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "kerasexp", "study", str(study), "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "kerasexp: error: no/such/cells: no such folder; dataset.data_dir must "
        "be a folder with one sub-folder per class"
    )
    assert not out.exists() and not list(tmp_path.rglob("*.db")) and result.stdout == ""


@pytest.mark.parametrize("path", ["resnet9000", "not an import path:x", "os.path:", "kerasexp.nope:f"])
def test_model_names_that_are_neither_registered_nor_importable(path):
    from kerasexp.errors import UserError

    with pytest.raises(UserError, match="model"):
        registry.MODELS.check(path)

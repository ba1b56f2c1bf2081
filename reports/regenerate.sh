#!/usr/bin/env bash
# Regenerates reports/ from the experiment files. Runs one training at a time (2-core CPU).
# Usage: bash reports/regenerate.sh [variants|choice|longtail|bench|best|transfer|study ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(variants choice longtail bench best transfer study)

for w in "${what[@]}"; do
  case "$w" in
    variants)
      python -m kerasexp.variants ;;
    choice)
      python -m kerasexp train studies/fmnist_step_decay.toml --out reports/fmnist_choice_tasks/step_decay
      python -m kerasexp train studies/fmnist_kfold_step.toml --out reports/fmnist_choice_tasks/kfold_step
      python -m kerasexp compare reports/fmnist_choice_tasks/step_decay reports/fmnist_choice_tasks/kfold_step \
        --out reports/fmnist_choice_tasks/summary --title "Report 002's choice tasks on Fashion-MNIST" ;;
    longtail)
      exp=studies/fmnist_longtail.toml; out=reports/fmnist_longtail
      python -m kerasexp train $exp --out $out/ce
      python -m kerasexp train $exp --set training.class_weight=balanced --out $out/weighted
      python -m kerasexp train $exp --set training.loss=focal --out $out/focal
      python -m kerasexp train $exp --set training.label_smoothing=0.1 --out $out/smoothing
      python -m kerasexp compare $out/ce $out/weighted $out/focal $out/smoothing --out $out/summary \
        --title "Long-tailed Fashion-MNIST (imbalance ratio 29): imbalance methods" ;;
    bench)
      json=$(python -m kerasexp bench train)
      { echo "# kerasexp bench train"; echo; echo "Command: \`python -m kerasexp bench train\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo; echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
        echo; echo '```json'; echo "$json"; echo '```'; } > reports/bench_train.md.tmp
      mv reports/bench_train.md.tmp reports/bench_train.md ;;
    best)
      python -m kerasexp train studies/fmnist_best.toml --out reports/fmnist_best ;;
    transfer)  # report 003 on pbc96: MobileNet 0.25 with ImageNet weights (../shared/weights)
      exp=studies/pbc96_transfer.toml; out=reports/pbc96_transfer
      python -m kerasexp train $exp --out $out/recipe
      python -m kerasexp train $exp --set model.params.unfreeze=0 --out $out/unfreeze_0
      python -m kerasexp train $exp --set model.params.head_batchnorm=true --set training.epochs=15 \
        --set augmentation.policy=flip_translate --set 'augmentation.params={translate=0.1}' --out $out/unfreeze_all
      python -m kerasexp train $exp --set model.params.unfreeze=15 --set model.params.norm_mode=frozen \
        --set model.params.head_batchnorm=true --set training.learning_rate=1e-3 --set training.schedule=constant \
        --set training.warmup_epochs=0 --out $out/report003
      python -m kerasexp compare $out/report003 $out/unfreeze_0 $out/unfreeze_all $out/recipe --out $out/summary \
        --title "Report 003's transfer recipe on pbc96 (MobileNet 0.25, ImageNet weights): unfrozen layers and rates" ;;
    study)  # report 003's Optuna search on a pbc96 subset, with and without pruning
      s=studies/pbc96_study.toml; out=reports/pbc96_study
      python -m kerasexp study $s --out $out/median
      python -m kerasexp study $s --set study.pruner=none --study-name pbc96_study_nopruning --out $out/nopruning
      python -m kerasexp study-report --storage sqlite:///$out/median/study.db --study-name pbc96_study \
        --out $out/median/report
      python -m kerasexp study-report --storage sqlite:///$out/nopruning/study.db --study-name pbc96_study_nopruning \
        --out $out/nopruning/report --no-retrain
      python -m kerasexp study-compare $out/median/report $out/nopruning/report --out $out/pruning ;;
    *) echo "regenerate.sh: unknown part '$w' (variants, choice, longtail, bench, best, transfer, study)" >&2; exit 2 ;;
  esac
done

#!/usr/bin/env bash
# Regenerates reports/ from the experiment files. Runs one training at a time (2-core CPU).
# Usage: bash reports/regenerate.sh [variants|choice|longtail|bench|best ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(variants choice longtail bench best)

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
    *) echo "regenerate.sh: unknown part '$w' (variants, choice, longtail, bench, best)" >&2; exit 2 ;;
  esac
done

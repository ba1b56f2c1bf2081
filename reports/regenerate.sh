#!/usr/bin/env bash
# Regenerates reports/ from the experiment files. Runs one training at a time (2-core CPU).
# Usage: bash reports/regenerate.sh [variants|choice|longtail|bench|kernels|best|ladder|ladder_tuning|resnet_pooling|dedup|transfer|study|augment_bench|augment_pbc96|augment_fmnist ...]
#        (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(variants choice longtail bench kernels best ladder ladder_tuning resnet_pooling dedup transfer study augment_bench augment_pbc96 augment_fmnist)

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
    kernels)  # oneDNN vs Eigen kernels, the choice kerasexp/__init__.py makes
      json=$(python -m kerasexp bench kernels --repeats 3)
      { echo "# kerasexp bench kernels"; echo; echo "Command: \`python -m kerasexp bench kernels --repeats 3\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo; echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
        echo; echo '```json'; echo "$json"; echo '```'; } > reports/bench_kernels.md.tmp
      mv reports/bench_kernels.md.tmp reports/bench_kernels.md ;;
    best)
      python -m kerasexp train studies/fmnist_best.toml --out reports/fmnist_best ;;
    transfer)  # report 003 on pbc96: MobileNet 0.25 with ImageNet weights (../shared/weights)
      exp=studies/pbc96_transfer.toml; out=reports/pbc96_transfer
      python -m kerasexp train $exp --out $out/recipe
      python -m kerasexp train $exp --set model.params.unfreeze=0 --out $out/unfreeze_0
      python -m kerasexp train $exp --set model.params.unfreeze=15 --set model.params.norm_mode=frozen \
        --set training.learning_rate=1e-3 --set training.schedule=constant --set training.warmup_epochs=0 \
        --set training.head_epochs=0 --set training.epochs=12 --set training.early_stopping_patience=4 \
        --set augmentation.policy=randaugment --set 'augmentation.params={magnitude=0.32, augmentations_per_image=5}' \
        --set evaluation.tta=none --out $out/report003
      python -m kerasexp compare $out/report003 $out/unfreeze_0 $out/recipe --out $out/summary \
        --title "Report 003's transfer recipe on pbc96 (MobileNet 0.25, ImageNet weights): unfrozen layers and rates" ;;
    study)  # report 003's Optuna search on a pbc96 subset, with and without pruning
      s=studies/pbc96_study.toml; out=reports/pbc96_study
      python -m kerasexp study $s --out $out/median
      python -m kerasexp study $s --set study.pruner=none --set 'study.pruner_params={}' --study-name pbc96_study_nopruning \
        --out $out/nopruning
      python -m kerasexp study-report --storage sqlite:///$out/median/study.db --study-name pbc96_study \
        --out $out/median/report
      python -m kerasexp study-report --storage sqlite:///$out/nopruning/study.db --study-name pbc96_study_nopruning \
        --out $out/nopruning/report --no-retrain
      python -m kerasexp study-compare $out/median/report $out/nopruning/report --out $out/pruning ;;
    ladder)  # report 004's ladder on pbc96 at 32x32 (issue 6); epochs sized by each model's cost
      for spec in ladder_baseline:15 ladder_dropout:15 ladder_bn:15 ladder_both:15 ladder_advanced:8 ladder_resnet:3; do
        python -m kerasexp train studies/pbc96_ladder.toml --set model.name=${spec%%:*} \
          --set training.epochs=${spec##*:} --out reports/pbc96_ladder/${spec%%:*}
      done
      python -m kerasexp compare reports/pbc96_ladder/ladder_{baseline,dropout,bn,both,advanced,resnet} \
        --out reports/pbc96_ladder/summary --title "Report 004's CNN ladder on pbc96 at 32x32 (Table 4)" ;;
    ladder_tuning)  # report 004's tuning axes, one factor at a time
      exp=studies/pbc96_ladder_tuning.toml; out=reports/pbc96_ladder_tuning
      python -m kerasexp train $exp --out $out/depth_32_64_hidden_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[64,128]' --out $out/depth_64_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[128,256]' --out $out/depth_128_256
      python -m kerasexp train $exp --set model.params.hidden_units=64 --out $out/hidden_64
      python -m kerasexp train $exp --set model.params.hidden_units=256 --out $out/hidden_256
      python -m kerasexp train $exp --set 'model.params.conv_depths=[32,64,128]' --out $out/third_conv
      python -m kerasexp compare $out/{depth_32_64_hidden_128,depth_64_128,depth_128_256,hidden_64,hidden_256,third_conv} \
        --out $out/summary --title "Report 004's tuning axes on pbc96 at 32x32" ;;
    resnet_pooling)  # ResNet-18 from scratch at 96x96: average vs GeM pooling (reports 000/001)
      exp=studies/pbc96_resnet18_pooling.toml; out=reports/pbc96_resnet18
      python -m kerasexp train $exp --out $out/avg
      python -m kerasexp train $exp --set model.params.pooling=gem --out $out/gem
      python -m kerasexp compare $out/avg $out/gem --out $out/summary \
        --title "ResNet-18 from scratch on pbc96 at 96x96: average vs GeM pooling"
      python -m kerasexp filters $out/avg --out $out/avg/filters.png
      python -m kerasexp filters $out/gem --out $out/gem/filters.png ;;
    dedup)  # report 003's data cleaning on pbc96: duplicates, conflicting labels, outliers
      python -m kerasexp dedup ../shared/data/pbc96 --out reports/pbc96_dedup ;;
    augment_bench)  # issue 4: fast RandAugment vs keras-cv vs Keras; training with/without augmentation
      for b in augment augment-train; do
        args="$b --data-dir ../shared/data/pbc96"; [ $b = augment ] || args="$args --images 2048 --repeats 3"
        json=$(python -m kerasexp bench $args)
        { echo "# kerasexp bench $b"; echo; echo "Command: \`python -m kerasexp bench $args\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
          echo; echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
          echo; echo '```json'; echo "$json"; echo '```'; } > reports/bench_$b.md.tmp
        mv reports/bench_$b.md.tmp reports/bench_$b.md
      done ;;
    augment_fmnist)  # report 002's augmentation (Table 4, choice 5) on Fashion-MNIST
      python -m kerasexp train studies/fmnist_augment.toml --out reports/fmnist_augment/rotate_flip_noise
      python -m kerasexp compare reports/fmnist_augment/rotate_flip_noise --out reports/fmnist_augment/summary \
        --title "Report 002's augmentation (rotation, flips, Gaussian noise) on Fashion-MNIST"
      python -m kerasexp augment-preview studies/fmnist_augment.toml --out reports/fmnist_augment/preview.png ;;
    augment_pbc96)  # issue 4: augmentation policies on pbc96, one small CNN
      exp=studies/pbc96_augment.toml; out=reports/pbc96_augment
      for spec in none randaugment '["randaugment","saturation"]' mixup class_mixup; do
        name=$(echo "$spec" | tr -d '[]"' | tr ',' '_')
        python -m kerasexp train $exp --set "augmentation.policy=$spec" --out $out/$name
        [ "$spec" = none ] || python -m kerasexp augment-preview $exp --set "augmentation.policy=$spec" \
          --out $out/preview_$name.png
      done
      python -m kerasexp compare $out/{none,randaugment,randaugment_saturation,mixup,class_mixup} --out $out/summary \
        --title "Augmentation policies on pbc96 (6,000-image stratified subset at 32x32, report 004 batch-norm CNN, 15 epochs)" ;;
    *) echo "regenerate.sh: unknown part '$w' (variants, choice, longtail, bench, kernels, best, ladder, ladder_tuning, resnet_pooling, dedup, transfer, study, augment_bench, augment_pbc96, augment_fmnist)" >&2; exit 2 ;;
  esac
done

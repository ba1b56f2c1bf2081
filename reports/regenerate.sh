#!/usr/bin/env bash
# Regenerates reports/ from the experiment files. Runs one training at a time (2-core CPU).
# Usage: bash reports/regenerate.sh [variants|choice|choice_seeds|longtail|longtail_seeds|resnet_pooling_seeds|many_runs|bench|speedrun|kernels|best|ladder|ladder_tuning|resnet_pooling|ladder_tuning_seeds|dedup|transfer|transfer_seeds|study|augment_bench|augment_pbc96|augment_pbc96_seeds|augment_fmnist|augment_fmnist_seeds ...]
#        (default: all)
# Finished, current run folders load without training (`kerasexp reports check` lists what would retrain);
# the benchmarks (bench, kernels, augment_bench, and speedrun's timing rounds) measure again each time.
set -euo pipefail
cd "$(dirname "$0")/.."
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(variants choice longtail longtail_seeds bench speedrun kernels best ladder ladder_tuning resnet_pooling resnet_pooling_seeds dedup transfer transfer_seeds study augment_bench augment_pbc96 augment_pbc96_seeds augment_fmnist augment_fmnist_seeds ladder_tuning_seeds choice_seeds many_runs)

# A finished run folder loads instead of training again; one that today's code would not reproduce
# (`kerasexp reports check`: an older results version or config) is removed first, so it retrains.
fresh() {
  local root
  for root in "$@"; do
    [ -d "$root" ] || continue
    { python -m kerasexp reports check --root "$root" || true; } | sed -n 's/^stale \([^:]*\): .*/\1/p' | while read -r d; do
      echo "regenerate.sh: $d is stale, retraining it" >&2; rm -rf "$d"
    done
  done
}

for w in "${what[@]}"; do
  case "$w" in
    variants)
      fresh reports/variants
      python -m kerasexp.variants ;;
    choice)
      fresh reports/fmnist_choice_tasks
      python -m kerasexp train studies/fmnist_step_decay.toml --out reports/fmnist_choice_tasks/step_decay
      python -m kerasexp train studies/fmnist_kfold_step.toml --out reports/fmnist_choice_tasks/kfold_step
      python -m kerasexp compare reports/fmnist_choice_tasks/step_decay reports/fmnist_choice_tasks/kfold_step \
        --out reports/fmnist_choice_tasks/summary --title "Report 002's choice tasks on Fashion-MNIST" ;;
    longtail)
      exp=studies/fmnist_longtail.toml; out=reports/fmnist_longtail; fresh $out
      python -m kerasexp train $exp --out $out/ce
      python -m kerasexp train $exp --set training.class_weight=balanced --out $out/weighted
      python -m kerasexp train $exp --set training.loss=focal --out $out/focal
      python -m kerasexp train $exp --set training.label_smoothing=0.1 --out $out/smoothing
      python -m kerasexp compare $out/ce $out/weighted $out/focal $out/smoothing --out $out/summary \
        --title "Long-tailed Fashion-MNIST (imbalance ratio 29): imbalance methods" ;;
    longtail_seeds)  # the one-seed rows above, again on training seeds 1-4 (none used in choosing them)
      exp=studies/fmnist_longtail.toml; out=reports/fmnist_longtail/seeds; fresh $out
      python -m kerasexp train $exp --seeds 1,2,3,4 --out $out/ce
      python -m kerasexp train $exp --set training.class_weight=balanced --seeds 1,2,3,4 --out $out/weighted
      python -m kerasexp train $exp --set training.loss=focal --seeds 1,2,3,4 --out $out/focal
      python -m kerasexp train $exp --set training.label_smoothing=0.1 --seeds 1,2,3,4 --out $out/smoothing
      python -m kerasexp compare $out/ce $out/weighted $out/focal $out/smoothing --out $out/summary \
        --title "Long-tailed Fashion-MNIST (imbalance ratio 29): imbalance methods, training seeds 1-4" ;;
    bench)
      json=$(python -m kerasexp bench train)
      { echo "# kerasexp bench train"; echo; echo "Command: \`python -m kerasexp bench train\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo; echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
        echo; echo '```json'; echo "$json"; echo '```'; } > reports/bench_train.md.tmp
      mv reports/bench_train.md.tmp reports/bench_train.md ;;
    speedrun)  # compute to accuracy on Fashion-MNIST, 3 seeds, against the same training in PyTorch
      fresh reports/speedrun
      python -m kerasexp bench speedrun --experiment studies/fmnist_fast.toml --seeds 0,1,2 --out reports/speedrun ;;
    kernels)  # oneDNN vs Eigen kernels, the choice kerasexp/__init__.py makes
      json=$(python -m kerasexp bench kernels --repeats 3)
      { echo "# kerasexp bench kernels"; echo; echo "Command: \`python -m kerasexp bench kernels --repeats 3\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo; echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
        echo; echo '```json'; echo "$json"; echo '```'; } > reports/bench_kernels.md.tmp
      mv reports/bench_kernels.md.tmp reports/bench_kernels.md ;;
    best)
      fresh reports/fmnist_best
      python -m kerasexp train studies/fmnist_best.toml --out reports/fmnist_best ;;
    transfer)  # report 003 on pbc96: MobileNet 0.25 with ImageNet weights (../shared/weights)
      exp=studies/pbc96_transfer.toml; out=reports/pbc96_transfer; fresh $out
      python -m kerasexp train $exp --out $out/recipe
      python -m kerasexp train $exp --set model.params.unfreeze=0 --out $out/unfreeze_0
      python -m kerasexp train $exp --set model.params.unfreeze=15 --set model.params.norm_mode=frozen \
        --set training.learning_rate=1e-3 --set training.schedule=constant --set training.warmup_epochs=0 \
        --set training.head_epochs=0 --set training.epochs=12 --set training.early_stopping_patience=4 \
        --set augmentation.policy=randaugment --set 'augmentation.params={magnitude=0.32, augmentations_per_image=5}' \
        --set evaluation.tta=none --out $out/report003
      python -m kerasexp compare $out/report003 $out/unfreeze_0 $out/recipe --against previous --out $out/summary \
        --title "Report 003's transfer recipe on pbc96 (MobileNet 0.25, ImageNet weights): unfrozen layers and rates" ;;
    transfer_seeds)  # the recipe again on training seeds 1-4, none of them used in choosing it
      exp=studies/pbc96_transfer.toml; out=reports/pbc96_transfer/seeds; fresh $out
      python -m kerasexp train $exp --seeds 1,2,3,4 --out $out/recipe
      python -m kerasexp compare $out/recipe --out $out/summary \
        --title "Report 003's transfer recipe on pbc96 (MobileNet 0.25, ImageNet weights), training seeds 1-4" ;;
    choice_seeds)  # report 002's step decay and 5-fold + step decay again on training seeds 1-4
      out=reports/fmnist_choice_tasks/seeds; fresh $out
      python -m kerasexp train studies/fmnist_step_decay.toml --seeds 1,2,3,4 --out $out/step_decay
      python -m kerasexp train studies/fmnist_kfold_step.toml --seeds 1,2,3,4 --out $out/kfold_step
      python -m kerasexp compare $out/step_decay $out/kfold_step --out $out/summary \
        --title "Report 002's choice tasks on Fashion-MNIST, training seeds 1-4" ;;
    augment_fmnist_seeds)  # report 002's augmentation again on training seeds 1-4
      out=reports/fmnist_augment/seeds; fresh $out
      python -m kerasexp train studies/fmnist_augment.toml --seeds 1,2,3,4 --out $out/rotate_flip_noise
      python -m kerasexp compare $out/rotate_flip_noise --out $out/summary \
        --title "Report 002's augmentation on Fashion-MNIST, training seeds 1-4" ;;
    augment_pbc96_seeds)  # the five policies again on training seeds 1-4
      exp=studies/pbc96_augment.toml; out=reports/pbc96_augment/seeds; fresh $out
      for spec in none randaugment '["randaugment","saturation"]' mixup class_mixup; do
        name=$(echo "$spec" | tr -d '[]"' | tr ',' '_')
        python -m kerasexp train $exp --set "augmentation.policy=$spec" --seeds 1,2,3,4 --out $out/$name
      done
      python -m kerasexp compare $out/{none,randaugment,randaugment_saturation,mixup,class_mixup} --out $out/summary \
        --title "Augmentation policies on pbc96 (6,000-image subset at 32x32, 15 epochs), training seeds 1-4" ;;
    ladder_tuning_seeds)  # report 004's tuning axes again on training seeds 1-4
      exp=studies/pbc96_ladder_tuning.toml; out=reports/pbc96_ladder_tuning/seeds; fresh $out
      s=(--seeds 1,2,3,4)
      python -m kerasexp train $exp "${s[@]}" --out $out/depth_32_64_hidden_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[64,128]' "${s[@]}" --out $out/depth_64_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[128,256]' "${s[@]}" --out $out/depth_128_256
      python -m kerasexp train $exp --set model.params.hidden_units=64 "${s[@]}" --out $out/hidden_64
      python -m kerasexp train $exp --set model.params.hidden_units=256 "${s[@]}" --out $out/hidden_256
      python -m kerasexp train $exp --set 'model.params.conv_depths=[32,64,128]' "${s[@]}" --out $out/third_conv
      python -m kerasexp compare $out/{depth_32_64_hidden_128,depth_64_128,depth_128_256,hidden_64,hidden_256,third_conv} \
        --out $out/summary --title "Report 004's tuning axes on pbc96 at 32x32, training seeds 1-4" ;;
    study)  # report 003's Optuna search on pbc96: no pruning, median pruner, Hyperband (same sampler seed)
      s=studies/pbc96_study.toml; out=reports/pbc96_study
      [ -d $out/none ] || rm -rf $out  # the layout before three pruners: start over
      for p in none median hyperband; do
        case $p in
          none) set_pruner=(--set study.pruner=none --set 'study.pruner_params={}') ;;
          median) set_pruner=() ;;
          hyperband) set_pruner=(--set study.pruner=hyperband
                                 --set 'study.pruner_params={min_resource=1, max_resource=8, reduction_factor=3}') ;;
        esac
        python -m kerasexp study $s "${set_pruner[@]}" --study-name pbc96_study_$p --out $out/$p
        python -m kerasexp study-report --storage sqlite:///$out/$p/study.db --study-name pbc96_study_$p \
          --out $out/$p/report --seeds 0,1,2
      done
      python -m kerasexp study-compare $out/{none,median,hyperband}/report --out $out/pruning ;;
    ladder)  # report 004's ladder on pbc96 at 32x32: each model until validation stops improving, 3 seeds
      fresh reports/pbc96_ladder
      for m in ladder_baseline ladder_dropout ladder_bn ladder_both ladder_advanced ladder_resnet; do
        seeds=0,1,2; [ $m != ladder_resnet ] || seeds=0  # the ResNet: one seed (~35 min a seed on 2 cores)
        python -m kerasexp train studies/pbc96_ladder.toml --set model.name=$m --seeds $seeds --out reports/pbc96_ladder/$m
      done
      python -m kerasexp compare reports/pbc96_ladder/ladder_{baseline,dropout,bn,both,advanced,resnet} \
        --against previous --out reports/pbc96_ladder/summary --title "Report 004's CNN ladder on pbc96 at 32x32 (Table 4), mean over seeds" ;;
    ladder_tuning)  # report 004's tuning axes, one factor at a time
      exp=studies/pbc96_ladder_tuning.toml; out=reports/pbc96_ladder_tuning; fresh $out
      python -m kerasexp train $exp --out $out/depth_32_64_hidden_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[64,128]' --out $out/depth_64_128
      python -m kerasexp train $exp --set 'model.params.conv_depths=[128,256]' --out $out/depth_128_256
      python -m kerasexp train $exp --set model.params.hidden_units=64 --out $out/hidden_64
      python -m kerasexp train $exp --set model.params.hidden_units=256 --out $out/hidden_256
      python -m kerasexp train $exp --set 'model.params.conv_depths=[32,64,128]' --out $out/third_conv
      python -m kerasexp compare $out/{depth_32_64_hidden_128,depth_64_128,depth_128_256,hidden_64,hidden_256,third_conv} \
        --out $out/summary --title "Report 004's tuning axes on pbc96 at 32x32" ;;
    resnet_pooling)  # ResNet-18 from scratch at 96x96: average vs GeM pooling (reports 000/001)
      exp=studies/pbc96_resnet18_pooling.toml; out=reports/pbc96_resnet18; fresh $out
      python -m kerasexp train $exp --out $out/avg
      python -m kerasexp train $exp --set model.params.pooling=gem --out $out/gem
      python -m kerasexp compare $out/avg $out/gem --out $out/summary \
        --title "ResNet-18 from scratch on pbc96 at 96x96: average vs GeM pooling"
      python -m kerasexp filters $out/avg --out $out/avg/filters.png
      python -m kerasexp filters $out/gem --out $out/gem/filters.png ;;
    resnet_pooling_seeds)  # the same two, again on training seeds 1-4
      exp=studies/pbc96_resnet18_pooling.toml; out=reports/pbc96_resnet18/seeds; fresh $out
      python -m kerasexp train $exp --seeds 1,2,3,4 --out $out/avg
      python -m kerasexp train $exp --set model.params.pooling=gem --seeds 1,2,3,4 --out $out/gem
      python -m kerasexp compare $out/avg $out/gem --out $out/summary \
        --title "ResNet-18 from scratch on pbc96 at 96x96: average vs GeM pooling, training seeds 1-4" ;;
    many_runs)  # one run after another against one process a core, on the variant table's runs
      python -m kerasexp bench many-runs ;;
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
      fresh reports/fmnist_augment
      python -m kerasexp train studies/fmnist_augment.toml --out reports/fmnist_augment/rotate_flip_noise
      python -m kerasexp compare reports/fmnist_augment/rotate_flip_noise --out reports/fmnist_augment/summary \
        --title "Report 002's augmentation (rotation, flips, Gaussian noise) on Fashion-MNIST"
      python -m kerasexp augment-preview studies/fmnist_augment.toml --out reports/fmnist_augment/preview.png ;;
    augment_pbc96)  # issue 4: augmentation policies on pbc96, one small CNN
      exp=studies/pbc96_augment.toml; out=reports/pbc96_augment; fresh $out
      for spec in none randaugment '["randaugment","saturation"]' mixup class_mixup; do
        name=$(echo "$spec" | tr -d '[]"' | tr ',' '_')
        python -m kerasexp train $exp --set "augmentation.policy=$spec" --out $out/$name
        [ "$spec" = none ] || python -m kerasexp augment-preview $exp --set "augmentation.policy=$spec" \
          --out $out/preview_$name.png
      done
      python -m kerasexp compare $out/{none,randaugment,randaugment_saturation,mixup,class_mixup} --out $out/summary \
        --title "Augmentation policies on pbc96 (6,000-image stratified subset at 32x32, report 004 batch-norm CNN, 15 epochs)" ;;
    *) echo "regenerate.sh: unknown part '$w' (variants, choice, longtail, longtail_seeds, resnet_pooling_seeds, many_runs, bench, speedrun, kernels, best, ladder, ladder_tuning, ladder_tuning_seeds, resnet_pooling, dedup, transfer, transfer_seeds, study, augment_bench, augment_pbc96, augment_pbc96_seeds, augment_fmnist, augment_fmnist_seeds, choice_seeds)" >&2; exit 2 ;;
  esac
done

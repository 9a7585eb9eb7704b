#!/usr/bin/env bash
# Multitask PWM at laptop scale, end to end with this project's commands (not run in CI):
#   1. offline data: uniformly random actions on 3 MT30 tasks (a tdmpc2 run with seed_steps >
#      steps never plans; it exports its replay buffer as a TD-MPC2 chunk),
#   2. pwm-bench build-dataset -> one mt30-format dataset (task ids, padding),
#   3. pwm-bench pretrain: a size-1 multitask world model (horizon 16, rho 0.99),
#   4. pwm-bench train --algo pwm per task (frozen world model, start states from the dataset),
#   5. pwm-bench train --algo random_policy per task, for the comparison.
# Usage: bash benchmarks/pwm_multitask_small.sh [OUT_DIR]   (default results/bench/pwm_multitask_small)
# Knobs (env vars): COLLECT_STEPS, PRETRAIN_STEPS, INIT_CHECKPOINT, PWM_ITERS, PWM_SETS, EVAL_EPISODES.
# Steps that find their output already present are skipped (re-running resumes the pipeline).
# RESULTS.md "PWM" round 1:
#   INIT_CHECKPOINT=results/bench/tdmpc2_offline/model/model.pt bash benchmarks/pwm_multitask_small.sh
# round 2: the same collect/ and data/, world_model/model.pt = 500 more pretrain steps (pwm-bench pretrain
#   --init-checkpoint <round-1 model.pt>, its checkpoints/step_500.pt), then
#   EVAL_EPISODES=10 PWM_SETS="--set batch_size=256 --set progress_every=25 --set mask_actions=true" \
#     bash benchmarks/pwm_multitask_small.sh results/bench/pwm_multitask_small_r2
set -euo pipefail
OUT=${1:-results/bench/pwm_multitask_small}
TASKS=${TASKS:-"cartpole-balance cartpole-swingup reacher-easy"}
COLLECT_STEPS=${COLLECT_STEPS:-10000}
PRETRAIN_STEPS=${PRETRAIN_STEPS:-1000}
PWM_ITERS=${PWM_ITERS:-150}
EVAL_EPISODES=${EVAL_EPISODES:-5}
PWM_SETS=${PWM_SETS:-"--set batch_size=256 --set progress_every=25"}
mkdir -p "$OUT/collect" "$OUT/runs"
runs=()
for task in $TASKS; do
  run="$OUT/collect/$task"
  runs+=("$run")
  [ -f "$run/eval.csv" ] || pwm-bench train --algo tdmpc2 --task "$task" --seed 1 --out "$run" \
    --steps "$COLLECT_STEPS" --eval-every "$COLLECT_STEPS" --eval-episodes 1 --set model_size=1 \
    --set seed_steps=100000000 --set num_samples=16 --set num_elites=4 --set num_pi_trajs=2 --set iterations=1 \
    > "$run.log" 2>&1 || { mkdir -p "$run"; cat "$run.log"; exit 1; }
done
[ -f "$OUT/data/chunk_0.pt" ] || pwm-bench build-dataset --task-set mt30 --out "$OUT/data" "${runs[@]}"
init=()
[ -n "${INIT_CHECKPOINT:-}" ] && init=(--init-checkpoint "$INIT_CHECKPOINT")
[ -f "$OUT/world_model/model.pt" ] || pwm-bench pretrain --data "$OUT/data" --out "$OUT/world_model" \
  --task-set mt30 --model-size 1 --horizon 16 --rho 0.99 --batch-size 128 --steps "$PRETRAIN_STEPS" \
  --checkpoint-every 250 --log-every 50 --threads 1 "${init[@]}" > "$OUT/pretrain.log" 2>&1
for task in $TASKS; do
  pwm-bench train --algo pwm --task "$task" --seed 1 --out "$OUT/runs/pwm/$task" --steps "$PWM_ITERS" \
    --eval-every 50 --eval-episodes "$EVAL_EPISODES" --threads 1 \
    --set world_model="$OUT/world_model/model.pt" --set data_dir="$OUT/data" $PWM_SETS \
    > "$OUT/runs/pwm_$task.log" 2>&1 &
  pwm-bench train --algo random_policy --task "$task" --seed 1 --out "$OUT/runs/random_policy/$task" \
    --steps 1 --eval-every 1 --eval-episodes "$EVAL_EPISODES" > /dev/null 2>&1
  wait
done
python - "$OUT" <<'PY'
import sys, pandas as pd, pathlib
out = pathlib.Path(sys.argv[1])
rows = []
for algo in ("pwm", "random_policy"):
    for f in sorted((out / "runs" / algo).glob("*/eval.csv")):
        d = pd.read_csv(f)
        rows.append(dict(algo=algo, task=d.task.iloc[-1], final=d.episode_reward.iloc[-1],
                         first=d.episode_reward.iloc[0], best=d.episode_reward.max()))
print(pd.DataFrame(rows).to_string(index=False))
PY

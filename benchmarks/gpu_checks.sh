#!/usr/bin/env bash
# Everything the GPU path must show, in one call on a lent GPU machine (<= 9 minutes), from the
# repository root; every phase has its own time limit and prints its own figures:
#
#   here:   python benchmarks/gpu_bundle.py                # once: .cache/gpu-bundle (packages + real pairs)
#   there:  bash benchmarks/gpu_checks.sh [phase ...]      # default: every phase, in this order
#           with the device tool: run(command="bash benchmarks/gpu_checks.sh", carry=[".cache/gpu-bundle"])
#   CI:     SMOKE=1 bash benchmarks/gpu_checks.sh          # every phase on the CPU with tiny models
#
# Phases:
#   train    the train stage through the `deepspeed` launcher, in one DeepSpeed process and with the
#            plain Trainer (SMOKE: the launcher and the plain Trainer), at 7B shape (random weights, real question pairs when the bundle has them):
#            steady tokens/s, share of the bf16 peak (SLAM's FLOPs per token), CUDA peak vs `harness
#            plan`, and the DeepSpeed vs plain Trainer losses (benchmarks/gpu_train_stage.py);
#   ceiling  a bare forward+backward+AdamW step of the same plan on full-length micro-batches: the
#            ceiling for the above, and the peak memory at the plan's worst case against `harness plan`
#            (benchmarks/gpu_ceiling.py);
#   release  the memory left on the GPU after the train stage ran in this process (in-process training);
#   eval     the evaluate stage against raw batched `generate` on the same prompts (benchmarks/bench_evaluation.py);
#   shards   two sharded evaluation workers against one process at batch 1: the order and answers
#            must be identical (benchmarks/eval_time.py; needs 2 GPUs, or SMOKE on the CPU).
# Limits (seconds): TRAIN_S ceiling CEILING_S ... (see below); everything printed is also under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-checks}
WORK=${WORK:-$(mktemp -d /tmp/harness-gpu.XXXX)}
SITE=$WORK/site
mkdir -p "$OUT" "$WORK" "$SITE"
phases=${*:-train ceiling release eval shards}
SMOKE=${SMOKE:-0}
PY=${PYTHON:-python3}

if ! $PY -c "import deepspeed, lm_eval, datasets, pydantic" 2>/dev/null; then
    tar -xzf .cache/gpu-bundle/site.tar.gz -C "$SITE" || { echo "run python benchmarks/gpu_bundle.py here first and carry .cache/gpu-bundle"; exit 2; }
    $PY -m pip install -q --no-deps --no-index --target "$SITE" .cache/gpu-bundle/pydantic_core-*.whl
fi
export PYTHONPATH=$PWD:$SITE HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "$SMOKE" = 1 ]; then
    shape=TINY steps=3 global=4 batch=2 length=64 new_tokens=8 limit=3 eval_batch=4 languages=en,de
    configs=launcher,plain
    export DS_ACCELERATOR=cpu
    BUILD_S=${BUILD_S:-120} TRAIN_S=${TRAIN_S:-400} CEILING_S=${CEILING_S:-120} RELEASE_S=${RELEASE_S:-180} EVAL_S=${EVAL_S:-180} SHARDS_S=${SHARDS_S:-240}
else
    shape=SHAPE_7B steps=${STEPS:-4} global=${GLOBAL:-32} batch=8 length=1024 new_tokens=${NEW_TOKENS:-256} limit=${LIMIT:-16}
    eval_batch=32 languages=en,de,zh configs=${CONFIGS:-launcher,deepspeed,plain}
    BUILD_S=${BUILD_S:-60} TRAIN_S=${TRAIN_S:-240} CEILING_S=${CEILING_S:-45} RELEASE_S=${RELEASE_S:-60} EVAL_S=${EVAL_S:-60} SHARDS_S=${SHARDS_S:-60}
fi
data=${DATA:-demo}
[ "$data" = demo ] && [ -d .cache/gpu-bundle/pairs ] && data=.cache/gpu-bundle/pairs
{
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=index,name,memory.total --format=csv
    $PY -c "import torch, transformers, deepspeed, lm_eval, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'deepspeed', deepspeed.__version__, 'lm_eval', lm_eval.__version__, 'peft', peft.__version__, 'cuda', torch.cuda.is_available())"
    echo "smoke: $SMOKE; model shape: $shape; training data: $data"
} 2>&1 | tee "$OUT/versions.txt"

model=$WORK/model
phase() {  # phase NAME LIMIT COMMAND...: run it under its own time limit, keep its output
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s)"
    local started=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | grep -v "it/s\]\|Loading weights" | tee "$OUT/$name.txt"
    local code=${PIPESTATUS[0]}
    [ "$code" = 124 ] && echo "$name: TIMED OUT after $limit s"
    [ "$code" != 0 ] && [ "$code" != 124 ] && echo "$name: FAILED (exit $code)"
    echo "$name: $((SECONDS - started)) s"
    failed=$((failed + (code != 0)))
}
failed=0
phase build "$BUILD_S" $PY -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; import gpu_train_stage as g; g.build_model(Path('$model'), g.$shape, '$data', None); print('random', '$shape', 'model in $model')"

for name in $phases; do
    case $name in
    train)
        phase train "$TRAIN_S" $PY benchmarks/gpu_train_stage.py --model-dir "$model" --work "$WORK" --steps "$steps" \
            --global-batch "$global" --batch "$batch" --max-length "$length" --data "$data" --configs "$configs" ;;
    ceiling)
        phase ceiling "$CEILING_S" $PY benchmarks/gpu_ceiling.py --model-dir "$model" --batch "$batch" --max-length "$length" --steps 4 ;;
    release)
        phase release "$RELEASE_S" $PY benchmarks/gpu_release.py --model-dir "$model" --work "$WORK" --data "$data" \
            --batch "$batch" --max-length "$length" ;;
    eval)
        phase eval "$EVAL_S" $PY benchmarks/bench_evaluation.py --model "$model" --languages "$languages" --limit "$limit" \
            --batch-size "$eval_batch" --max-new-tokens "$new_tokens" --json "$OUT/eval.json" ;;
    shards)
        gpus=$($PY -c "import torch; print(torch.cuda.device_count())")
        if [ "$SMOKE" != 1 ] && [ "$gpus" -lt 2 ]; then
            echo "== shards: skipped, $gpus GPU visible (one hf worker per GPU)"
        else
            phase shards "$SHARDS_S" $PY benchmarks/eval_time.py --model-dir "$model" --processes 1,2 --batch-size 1 \
                --limit "$limit" --max-new-tokens "$new_tokens" --languages "$languages" --dtype auto
        fi ;;
    *) echo "unknown phase $name (train ceiling release eval shards)"; failed=$((failed + 1)) ;;
    esac
done
echo "gpu checks: $failed phase(s) failed; outputs in $OUT"
exit $((failed > 0))

#!/usr/bin/env bash
# The GPU checks of issue 15 in one call, on a lent GPU machine, from the repository root:
#
#   here:   python benchmarks/gpu_bundle.py                   # once: .cache/gpu-bundle (~7 MB)
#   there:  bash benchmarks/gpu_checks.sh [plan] [train] [eval]   (default: all three)
#           with the device tool: run(command="bash benchmarks/gpu_checks.sh", carry=[".cache/gpu-bundle"])
#
# The machine has torch, transformers, peft and accelerate but no deepspeed, lm-eval, datasets or
# pydantic and no network: the bundle's pure-Python packages are unpacked into a folder on
# PYTHONPATH and the pydantic_core wheel installed there (ENVIRONMENT.md). Then:
#   plan   `harness plan` of slam_7b and slam_13b on config-only Llama-2 folders (per-GPU memory
#          with activations; compare with train's measured peak);
#   train  benchmarks/gpu_train_stage.py: the train stage on a random 7B-shaped Llama, DeepSpeed
#          vs the plain Trainer, tokens/s and share of the bf16 peak (DATA=... for real pairs);
#   eval   benchmarks/eval_time.py on the same random 7B model: hf backend, one process per GPU
#          (all visible GPUs vs one), the paper's evaluation time extrapolated.
# Everything printed is also written under $OUT (the device tool brings it back).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-checks}
WORK=${WORK:-/tmp/harness-gpu}
SITE=$WORK/site
mkdir -p "$OUT" "$WORK" "$SITE"
steps=${*:-plan train eval}

if ! python3 -c "import deepspeed, lm_eval, datasets, pydantic" 2>/dev/null; then
    tar -xzf .cache/gpu-bundle/site.tar.gz -C "$SITE" || { echo "run python benchmarks/gpu_bundle.py here first and carry .cache/gpu-bundle"; exit 2; }
    python3 -m pip install -q --no-deps --no-index --target "$SITE" .cache/gpu-bundle/pydantic_core-*.whl
fi
export PYTHONPATH=$PWD:$SITE HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=index,name,memory.total --format=csv | tee "$OUT/gpus.txt"
python3 -c "import torch, transformers, deepspeed, lm_eval, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'deepspeed', deepspeed.__version__, 'lm_eval', lm_eval.__version__, 'peft', peft.__version__)" | tee "$OUT/versions.txt"

if [[ " $steps " == *" plan "* ]]; then
    python3 - "$WORK" <<'EOF'
import json, sys
from pathlib import Path
for name, (h, i, l) in {"llama2-7b": (4096, 11008, 32), "llama2-13b": (5120, 13824, 40)}.items():
    folder = Path(sys.argv[1]) / name
    folder.mkdir(parents=True, exist_ok=True)
    json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h, "intermediate_size": i,
               "num_hidden_layers": l, "num_attention_heads": l, "num_key_value_heads": l, "vocab_size": 32000,
               "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "hidden_act": "silu"}, open(folder / "config.json", "w"))
EOF
    for size in 7b 13b; do
        for gpus in 8 1; do
            echo "== harness plan recipes/slam_$size.yaml training.num_gpus=$gpus"
            python3 -m harness plan "recipes/slam_$size.yaml" "model.source=$WORK/llama2-$size" "training.num_gpus=$gpus" | sed -n '/^memory/,$p'
        done
    done 2>&1 | tee "$OUT/plan.txt"
fi

if [[ " $steps " == *" train "* ]]; then
    python3 benchmarks/gpu_train_stage.py --work "$WORK" --steps "${STEPS:-6}" --configs "${CONFIGS:-deepspeed,plain}" \
        ${DATA:+--data "$DATA"} 2>&1 | grep -v "it/s\]" | tee "$OUT/train_stage.txt"
fi

if [[ " $steps " == *" eval "* ]]; then
    model=$WORK/random-7b
    if [ ! -f "$model/config.json" ]; then
        python3 -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; import gpu_train_stage as g; g.build_model(Path('$model'), g.SHAPE_7B, 'demo', None)"
    fi
    gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
    counts=1; [ "$gpus" -gt 1 ] && counts="1,$gpus"
    python3 benchmarks/eval_time.py --model-dir "$model" --dtype bfloat16 --processes "$counts" --limit "${LIMIT:-16}" \
        --batch-size 32 --max-new-tokens "${NEW_TOKENS:-512}" --languages en,de 2>&1 | grep -v "it/s\]" | tee "$OUT/eval_time.txt"
fi

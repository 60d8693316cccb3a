"""Fine-tune the top layers of all-MiniLM-L6-v2 for tweet sentiment on CPU, with checkpoints.

    HF_HUB_OFFLINE=1 nohup .venv-train/bin/python training/finetune_sentiment.py --out /tmp/minilm-sentiment \
        > /tmp/finetune.log 2>&1 &

Only the top `--train-layers` transformer layers learn; the layers below stay the generic model's. Export the
result with `training/export_encoder.py --model OUT/model --out FILE`. Resumes from the last checkpoint in
`--out` when it is run again. Not used for the shipped encoder: see README_ACCURATE.md for the measured
throughput on CPU and why frozen features were kept.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accurate_data
from export_encoder import batch, generic_model_dir, load_tokenizer

from townhall.enrich.classifiers.textprep import normalise

LABELS = ["negative", "neutral", "positive"]
SCALE = 20.0


class SentimentModel(torch.nn.Module):
    """Mean-pooled, L2-normalised MiniLM embedding (as shipped) and a linear layer over it."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
        ).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.head(torch.nn.functional.normalize(pooled, dim=1) * SCALE)


def batches(lengths: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: sort inside windows of 50 batches, then shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = size * 50
    out = []
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[i : i + size] for i in range(0, len(part), size))
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def macro_recall(gold: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([(pred[gold == k] == k).mean() for k in range(len(LABELS))]))


def evaluate(model: SentimentModel, tokenizer, texts: list[str], gold: np.ndarray) -> float:
    model.eval()
    preds = []
    with torch.no_grad():
        for start in range(0, len(texts), 128):
            ids, mask = batch(tokenizer, texts[start : start + 128])
            preds.append(model(torch.from_numpy(ids), torch.from_numpy(mask)).argmax(1).numpy())
    model.train()
    return macro_recall(gold, np.concatenate(preds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-layers", type=int, default=2)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--max-minutes", type=float, default=120.0)
    parser.add_argument(
        "--limit", type=int, default=0, help="train on the first N examples (throughput checks)"
    )
    args = parser.parse_args()

    torch.manual_seed(accurate_data.SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(accurate_data.SEED)
    model_dir = generic_model_dir()
    tokenizer = load_tokenizer(model_dir / "tokenizer.json")
    tokenizer.enable_truncation(max_length=args.max_len)

    train = accurate_data.sentiment_train()
    dev = accurate_data.sentiment_dev()
    texts = [normalise(t) for t in train.texts]
    gold = np.array([LABELS.index(x) for x in train.labels])
    if args.limit:
        texts, gold = texts[: args.limit], gold[: args.limit]
    dev_texts = [normalise(t) for t in dev.texts]
    dev_gold = np.array([LABELS.index(x) for x in dev.labels])
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])

    encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model = SentimentModel(encoder)
    first_trained = encoder.config.num_hidden_layers - args.train_layers
    for name, param in encoder.named_parameters():
        layer = name.split(".")[2] if name.startswith("encoder.layer.") else None
        param.requires_grad = layer is not None and int(layer) >= first_trained
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in trainable):,}; examples {len(texts):,}", flush=True)

    # Balanced class weights: the task is scored by macro-recall and negatives are only 16% of the tweets.
    counts = np.bincount(gold, minlength=len(LABELS))
    class_weights = torch.tensor(len(gold) / (len(LABELS) * counts), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights)
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(texts) / args.batch_size)
    total_steps = int(steps_per_epoch * args.epochs)
    warmup = max(1, total_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup)))
    )

    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "checkpoint.pt"
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        rng = state["rng"]
        print(f"resumed at step {step}", flush=True)

    started = time.time()
    plan: list[np.ndarray] = []
    epoch_seen = -1
    model.train()
    while step < total_steps:
        epoch = step // steps_per_epoch
        if epoch != epoch_seen:
            plan = batches(lengths, args.batch_size, np.random.default_rng(accurate_data.SEED + epoch))
            epoch_seen = epoch
        chunk = plan[step % steps_per_epoch] if step % steps_per_epoch < len(plan) else plan[-1]
        ids, mask = batch(tokenizer, [texts[i] for i in chunk])
        logits = model(torch.from_numpy(ids), torch.from_numpy(mask))
        loss = loss_fn(logits, torch.from_numpy(gold[chunk]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        step += 1
        if step % 50 == 0:
            rate = step * args.batch_size / max(time.time() - started, 1e-9)
            print(f"step {step}/{total_steps} loss {loss.item():.3f} {rate:.0f} ex/s", flush=True)
        if step % 500 == 0 or step == total_steps:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step,
                    "rng": rng,
                },
                checkpoint,
            )
            print(
                f"step {step}: dev macro-recall {evaluate(model, tokenizer, dev_texts, dev_gold):.4f}",
                flush=True,
            )
        if (time.time() - started) / 60 > args.max_minutes:
            print("time limit reached", flush=True)
            break
    model.encoder.save_pretrained(str(args.out / "model"))
    torch.save(model.head.state_dict(), args.out / "head.pt")
    print(f"saved to {args.out / 'model'}", flush=True)


if __name__ == "__main__":
    main()

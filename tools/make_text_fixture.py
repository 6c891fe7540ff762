#!/usr/bin/env python3
"""Writes tests/fixtures/text/: a small text classifier (token ids -> Embedding -> Transformer encoder -> masked mean
-> Linear), trained briefly on synthetic reviews, exported to ONNX with an int64 input, with the data Percept analyses
and PyTorch autograd's answers at the embedding output for Percept's attribution to match.

    /usr/bin/python3 tools/make_text_fixture.py      (Debian: apt-get install python3-torch python3-onnx)

The reviews are sequences of words from a small vocabulary: sentiment words ("great", "awful", ...) decide the
class (negative / neutral / positive), filler words and padding (id 0) make up the rest; a few reviews mix both
kinds and are ambiguous. The model masks padding itself (src_key_padding_mask = tokens == 0 and a masked mean), so
the token ids have consumers besides the embedding lookup, as in real text models.

Files: model.onnx (input 'tokens' int64 [N, 16], output 'logits' [N, 3]), tokens.npy (int64 [N, 16]),
labels.npy, vocab.txt (one token per line, line = id), classes.txt, and autograd's answers for samples 0..3:
golden-logits.npy [4, 3], golden-embedding-grad.npy [4, 3, 16, 24] (d logit_c / d embedding output, every class),
golden-embedding.npy [4, 16, 24] (the embedding output itself); model-tokenizer-inputs.onnx, the same classifier taking
input_ids, attention_mask and token_type_ids as a Hugging Face tokenizer gives them, with its golden-tokenizer-inputs-*.npy.
"""
import os
import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'text')
T, D, CLASSES, N = 16, 24, 3, 600

POSITIVE = ["great", "excellent", "wonderful", "loved", "superb", "enjoyable"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "painful"]
FILLER = ["the", "a", "film", "movie", "plot", "actors", "was", "is", "and", "it", "story", "ending", "music",
          "really", "quite", "very", "this", "with", "of", "scenes"]
VOCAB = ["<pad>", "<unk>"] + POSITIVE + NEGATIVE + FILLER


class TokenizerStyle(nn.Module):
    """The same classifier taking what a Hugging Face tokenizer gives: input_ids, attention_mask and token_type_ids
    (the type ids add a learned type embedding, as BERT's do)."""
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.types = nn.Embedding(2, D)
        with torch.no_grad():
            self.types.weight.normal_(0, 0.1)

    def forward(self, input_ids, attention_mask, token_type_ids, embedded=None):
        pad = attention_mask == 0
        x = (self.inner.embedding(input_ids) if embedded is None else embedded) + self.types(token_type_ids)
        h = self.inner.encoder(x + self.inner.position, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.inner.head((h * keep).sum(1) / keep.sum(1).clamp(min=1))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(VOCAB), D)
        self.position = nn.Parameter(torch.randn(1, T, D) * 0.1)
        layer = nn.TransformerEncoderLayer(D, nhead=2, dim_feedforward=48, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(D, CLASSES)

    def forward(self, tokens, embedded=None):
        pad = tokens == 0
        x = self.embedding(tokens) if embedded is None else embedded
        h = self.encoder(x + self.position, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1).clamp(min=1))


def reviews(rng):
    tokens = np.zeros((N, T), np.int64)
    labels = np.zeros(N, np.int64)
    index = {w: i for i, w in enumerate(VOCAB)}
    for s in range(N):
        length = rng.integers(6, T + 1)
        words = list(rng.choice(FILLER, length))
        label = rng.integers(0, CLASSES)
        sentiment = {0: NEGATIVE, 2: POSITIVE}.get(label)
        if sentiment is not None:
            for _ in range(rng.integers(1, 3)):
                words[rng.integers(0, length)] = rng.choice(sentiment)
        if rng.random() < 0.05:  # mixed: both kinds of words, labelled by the first
            words[rng.integers(0, length)] = rng.choice(POSITIVE if label == 0 else NEGATIVE)
        tokens[s, :length] = [index[w] for w in words]
        labels[s] = label
    return tokens, labels


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    tokens, labels = reviews(rng)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.from_numpy(tokens), torch.from_numpy(labels)
    for epoch in range(60):
        model.train()
        for b in range(0, N, 50):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[b:b + 50]), y[b:b + 50])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"training accuracy {accuracy:.3f}")

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'model.onnx')
    torch.onnx.export(model, (x[:2],), path, input_names=['tokens'], output_names=['logits'], opset_version=13,
                      dynamic_axes={'tokens': {0: 'batch'}, 'logits': {0: 'batch'}})
    np.save(os.path.join(OUT, 'tokens.npy'), tokens)
    np.save(os.path.join(OUT, 'labels.npy'), labels)
    with open(os.path.join(OUT, 'vocab.txt'), 'w') as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(OUT, 'classes.txt'), 'w') as f:
        f.write("negative\nneutral\npositive\n")

    # Autograd at the embedding output: the gradient of every class's logit for samples 0..3.
    sample = x[:4]
    with torch.no_grad():
        embedded = model.embedding(sample)
    grads = np.zeros((4, CLASSES, T, D), np.float32)
    for c in range(CLASSES):
        e = embedded.clone().requires_grad_(True)
        model(sample, e)[:, c].sum().backward()
        grads[:, c] = e.grad.numpy()
    with torch.no_grad():
        logits = model(sample).numpy()
    np.save(os.path.join(OUT, 'golden-logits.npy'), logits.astype(np.float32))
    np.save(os.path.join(OUT, 'golden-embedding.npy'), embedded.numpy().astype(np.float32))
    np.save(os.path.join(OUT, 'golden-embedding-grad.npy'), grads)

    # The tokenizer-style variant: Percept derives the mask (id != 0) and the type ids (zeros) from the ids.
    styled = TokenizerStyle(model).eval()
    mask, types = (sample != 0).long(), torch.zeros_like(sample)
    torch.onnx.export(styled, (x[:2], (x[:2] != 0).long(), torch.zeros_like(x[:2])), os.path.join(OUT, 'model-tokenizer-inputs.onnx'),
                      input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=['logits'], opset_version=13,
                      dynamic_axes={n: {0: 'batch'} for n in ['input_ids', 'attention_mask', 'token_type_ids', 'logits']})
    grads = np.zeros((4, CLASSES, T, D), np.float32)
    for c in range(CLASSES):
        e = embedded.clone().requires_grad_(True)
        styled(sample, mask, types, e)[:, c].sum().backward()
        grads[:, c] = e.grad.numpy()
    with torch.no_grad():
        np.save(os.path.join(OUT, 'golden-tokenizer-inputs-logits.npy'), styled(sample, mask, types).numpy().astype(np.float32))
    np.save(os.path.join(OUT, 'golden-tokenizer-inputs-embedding-grad.npy'), grads)

    import onnx
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print("operators:", ", ".join(ops))


if __name__ == '__main__':
    main()

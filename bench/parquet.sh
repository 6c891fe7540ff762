#!/usr/bin/env bash
# bench parquet: the 70,000 Fashion-MNIST images (train then test) as PNG bytes in a Parquet file (the Hugging Face
# layout, row groups of 1,024) against the same images and labels as one IDX pair: the datasets read alone, then
# `percept analyze` on each with the demo CNN. Each measurement alternates the two formats, so they share the machine.
#
#   bench/parquet.sh [PERCEPT] [OUT]
#     PERCEPT  how to run the CLI (default: this checkout's Release build, "dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll")
#     OUT      scratch folder for the files and runs (default /tmp/percept-bench-parquet); needs about 200 MB
#
# Writes the files with tools/make_table_fixtures.cs (once), then prints the read-alone table (bench/Percept.Bench
# formats, best of 3) and one line per analysis: seconds (wall), peak resident memory (MiB), exit code, and the model
# stage's samples per second as `analyze` reports it. Needs /usr/bin/time and the full Fashion-MNIST
# (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist); says so and stops when it is absent.
set -uo pipefail
cd "$(dirname "$0")/.."
PERCEPT=${1:-"dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll"}
OUT=${2:-/tmp/percept-bench-parquet}
LIMIT=${PARQUET_TIMEOUT:-600}
MODEL=models/fmnist-cnn/epoch-5.onnx

source "$(dirname "$0")/lib.sh"

FULL=""
for d in ../shared/datasets/fashion-mnist /usr/share/datasets/fashion-mnist; do
  [ -f "$d/train-images-idx3-ubyte.gz" ] && FULL=$d && break
done
[ -n "$FULL" ] || { echo "the full Fashion-MNIST is not at ../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist"; exit 1; }
PARQUET=$OUT/fmnist-70k.parquet
IMAGES=$OUT/fmnist-70k-images-idx3-ubyte.gz
LABELS=$OUT/fmnist-70k-labels-idx1-ubyte.gz
[ -f "$PARQUET" ] && [ -f "$IMAGES" ] || dotnet run tools/make_table_fixtures.cs -- bench "$OUT" "$FULL" || exit 1
echo "files: $(du -h "$PARQUET" | cut -f1) Parquet, $(du -h "$IMAGES" | cut -f1) IDX images (.gz)"

echo
echo "datasets read alone:"
dotnet run --project bench/Percept.Bench -c Release -- formats "$PARQUET" "$IMAGES" "$LABELS" --repeat 3 || exit 1

echo
echo "percept analyze --map none --insights none, demo CNN, the two formats alternated:"
for round in 1 2; do
  for format in idx parquet; do
    if [ $format = idx ]; then data=(--data "$IMAGES" --labels "$LABELS"); else data=(--data "$PARQUET"); fi
    step "analyze-$format-$round" $PERCEPT analyze --model $MODEL "${data[@]}" --out "$OUT/run-$format" --map none --insights none --overwrite
    grep -o "^analyze: 70000/70000 samples (100%), [0-9,]* samples/s" "$OUT/analyze-$format-$round.log" | sed 's/^analyze: /    model stage: /'
    grep -o "accuracy: .*" "$OUT/analyze-$format-$round.log" | sed 's/^/    /'
  done
done

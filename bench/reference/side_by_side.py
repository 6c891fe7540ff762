#!/usr/bin/env python3
"""Percept's map engines and the Python reference tools, side by side in one run on the same machine.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread PYTHONPATH=/tmp/umap-ref:/tmp/openTSNE-ref \\
        /usr/bin/python3 -u bench/reference/side_by_side.py [--runs 3] [--stages knn,umap,tsne] [--inputs pixels,perception]

References (never committed; see bench/README.md for how they are built under /tmp):
  k-NN graph  pynndescent 0.5.8 (Debian python3-pynndescent), n_neighbors=16 (the point + 15)
  UMAP        umap-learn at tag release-0.5.7, imported from its source folder
  t-SNE       openTSNE at tag v1.0.4, built in place (FFT gradient with FFTW), given the same PCA-50 input as Percept

Each stage runs Percept first (a separate process: bench/Percept.Bench maps-stage, which warms its JIT on 2,000 rows
and reports the seconds of the stage itself) and then the reference in this process (warmed the same way: numba
compiles on a 2,000-row run first). Both results are scored here by the same code: recall@15 against exact neighbours
of 1,000 seeded points; trustworthiness@10 (scikit-learn) on a seeded sample of 5,000 points; for t-SNE, the KL
divergence of each map under openTSNE's own P (perplexity 30), with openTSNE's FFT estimate of Z. Threads = 2 for all.
"""
import argparse, json, os, subprocess, sys, tempfile, time
import numpy as np

from maps_reference import read_idx  # the IDX reader both reference scripts use

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THREADS = 2


def find_data(given):
    cands = [given] if given else [os.path.join(ROOT, "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"]
    for c in cands:
        if c and os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz")):
            return c
    sys.exit("the full Fashion-MNIST is not in " + " or ".join(c for c in cands if c) + " (Debian: apt-get install dataset-fashion-mnist)")


def bench_binary():
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "bench", "Percept.Bench"), "-c", "Release", "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, "bench", "Percept.Bench", "bin", "Release", "net10.0", "Percept.Bench")


KERNELS_SHOWN = False


def percept(binary, stage, x_path, out_path, extra=()):
    t = time.time()
    p = subprocess.run([binary, "maps-stage", stage, x_path, out_path, "--threads", str(THREADS), *extra], capture_output=True, text=True)
    wall = time.time() - t
    if p.returncode != 0:
        sys.exit(f"Percept {stage} failed: {p.stderr.strip()[-2000:]}")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    global KERNELS_SHOWN
    if not KERNELS_SHOWN:
        # Percept's own line: the CPU as CPUID names it and the kernel paths it chose there.
        print(result["cpu"], flush=True)
        KERNELS_SHOWN = True
    result["wall"] = wall
    result["output"] = np.load(out_path)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stages", default="knn,umap,tsne")
    ap.add_argument("--inputs", default="pixels,perception")
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    stages, inputs = a.stages.split(","), a.inputs.split(",")
    folder = find_data(a.data)
    images = np.concatenate([read_idx(os.path.join(folder, f"{n}-images-idx3-ubyte.gz")) for n in ("train", "t10k")])
    if a.limit:
        images = images[:a.limit]
    work = tempfile.mkdtemp(prefix="percept-sbs-")
    binary = bench_binary()

    import pynndescent, sklearn, numba
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors
    from sklearn.decomposition import PCA
    import umap, openTSNE
    from openTSNE import TSNE
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.tsne import kl_divergence_fft
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    print(f"cpu: {cpu}; {len(images)} images, {os.cpu_count()} cores; pynndescent {pynndescent.__version__}, umap-learn {umap.__version__ if hasattr(umap, '__version__') else 'release-0.5.7'} "
          f"({os.path.dirname(umap.__file__)}), openTSNE {openTSNE.__version__} ({os.path.dirname(openTSNE.__file__)}), scikit-learn {sklearn.__version__}, numba {numba.__version__}", flush=True)

    data = {}
    if "pixels" in inputs:
        data["pixels 784-d"] = images.reshape(len(images), -1).astype(np.float32) / 255
    if "perception" in inputs:
        # The demo model's perception vectors of the same images, from one Percept analysis.
        np.save(os.path.join(work, "images.npy"), images)
        run = os.path.join(work, "run")
        cli = ["dotnet", "run", "--project", os.path.join(ROOT, "src", "Percept.Cli"), "-c", "Release", "--", "analyze",
               "--model", os.path.join(ROOT, "models", "fmnist-cnn", "epoch-5.onnx"), "--data", os.path.join(work, "images.npy"),
               "--map", "none", "--insights", "none", "--out", run]
        subprocess.run(cli, check=True, stdout=subprocess.DEVNULL)
        e = np.load(os.path.join(run, "embedding.npy")).astype(np.float32)
        data[f"perception {e.shape[1]}-d"] = e

    rng = np.random.default_rng(7)
    rows = []
    for name, x in data.items():
        n = len(x)
        x_path = os.path.join(work, "x.npy")
        np.save(x_path, x)
        queries = np.sort(rng.choice(n, min(1000, n), replace=False))
        exact = NearestNeighbors(n_neighbors=16, algorithm="brute").fit(x).kneighbors(x[queries], return_distance=False)
        exact = [[j for j in row if j != q][:15] for row, q in zip(exact, queries)]
        sample = np.sort(rng.choice(n, min(5000, n), replace=False))

        def recall(idx):
            return float(np.mean([len(set(idx[q][:15]) & set(e)) / 15 for q, e in zip(queries, exact)]))

        def trust(y):
            return float(trustworthiness(x[sample], y[sample], n_neighbors=10))

        x50 = None
        if "tsne" in stages:
            x50 = PCA(n_components=50, random_state=0).fit_transform(x).astype(np.float32) if x.shape[1] > 50 else x
            x50_path = os.path.join(work, "x50.npy")
            np.save(x50_path, x50)
            P = PerplexityBasedNN(x50, perplexity=30, n_jobs=THREADS, random_state=0).P
            fft_params = dict(n_interpolation_points=3, min_num_intervals=50, ints_in_interval=1)

            def kl(y):
                return float(kl_divergence_fft(np.ascontiguousarray(y, dtype=np.float64), P, 1, fft_params, should_eval_error=True, n_jobs=THREADS)[0])

        # Warm-ups: numba compiles on first use.
        small = x[:2000]
        pynndescent.NNDescent(small, n_neighbors=16, random_state=0, n_jobs=THREADS).neighbor_graph
        if "umap" in stages:
            umap.UMAP(random_state=None, n_jobs=THREADS).fit_transform(small)
        if "tsne" in stages:
            TSNE(n_jobs=THREADS, random_state=0, n_iter=50, early_exaggeration_iter=50).fit(x50[:2000])

        for r in range(1, a.runs + 1):
            if "knn" in stages:
                p = percept(binary, "knn", x_path, os.path.join(work, "knn.npy"))
                t = time.time()
                idx, _ = pynndescent.NNDescent(x, n_neighbors=16, random_state=r, n_jobs=THREADS).neighbor_graph
                ref = time.time() - t
                idx = [[j for j in row if j != i][:15] for i, row in enumerate(idx)]
                rows.append((name, "k-NN graph, k = 15", r, p, ref, f"recall@15 {recall(p['output']):.4f} vs {recall(idx):.4f}"))
                print(row_text(rows[-1]), flush=True)
            if "umap" in stages:
                p = percept(binary, "umap", x_path, os.path.join(work, "umap.npy"))
                t = time.time()
                y = umap.UMAP(random_state=None, n_jobs=THREADS).fit_transform(x)
                ref = time.time() - t
                rows.append((name, "UMAP 2-D", r, p, ref, f"trust@10 {trust(p['output']):.4f} vs {trust(y):.4f}"))
                print(row_text(rows[-1]), flush=True)
            if "tsne" in stages:
                p = percept(binary, "tsne", x50_path, os.path.join(work, "tsne.npy"))
                t = time.time()
                y = np.asarray(TSNE(n_jobs=THREADS, random_state=r).fit(x50))
                ref = time.time() - t
                rows.append((name, "t-SNE 2-D of PCA-50", r, p, ref,
                             f"trust@10 {trust(p['output']):.4f} vs {trust(y):.4f}; KL (openTSNE's P) {kl(p['output']):.4f} vs {kl(y):.4f}; Percept's own KL {p['kl']:.4f}"))
                print(row_text(rows[-1]), flush=True)

    print("\n| input | stage | run | Percept (stage) | Percept (wall, incl. process start + warm-up) | reference | ratio (stage) | quality: Percept vs reference |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row_text(row))
    print("\nMedian ratio per stage (Percept's stage time / the reference's):")
    for key in sorted({(r[0], r[1]) for r in rows}):
        ratios = [r[3]["seconds"] / r[4] for r in rows if (r[0], r[1]) == key]
        print(f"  {key[0]}, {key[1]}: {np.median(ratios):.2f} (runs: {', '.join(f'{v:.2f}' for v in ratios)})")


def row_text(row):
    name, stage, r, p, ref, quality = row
    return f"| {name} | {stage} | {r} | {p['seconds']:.2f} s | {p['wall']:.2f} s | {ref:.2f} s | {p['seconds'] / ref:.2f} | {quality} |"


if __name__ == "__main__":
    main()

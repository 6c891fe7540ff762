#!/usr/bin/env python3
"""Reference figures for `percept bench maps`, from the Python stack (Debian packages python3-pynndescent,
python3-hnswlib, python3-sklearn; umap-learn is not packaged for Debian 12 and cannot be installed here).

    /usr/bin/python3 bench/reference/maps_reference.py [--data DIR] [--limit N] [--skip tsne]

Prints one line per stage: wall time, peak memory (ru_maxrss of this process so far), recall@15 against exact
neighbours of 1,000 seeded queries, trustworthiness (k=10, seeded 5,000-point sample) for maps.
"""
import argparse, gzip, os, resource, struct, sys, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "i" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(stage, seconds, extra=""):
    print(f"| {stage} | {seconds:.2f} s | {peak_mib():.0f} MiB | {extra} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    cands = [a.data] if a.data else [os.path.join(ROOT, "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"]
    folder = next((c for c in cands if c and os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz"))), None)
    if folder is None:
        sys.exit("full Fashion-MNIST not found")
    x = np.concatenate([read_idx(os.path.join(folder, f"{n}-images-idx3-ubyte.gz")).reshape(-1, 784) for n in ("train", "t10k")]).astype(np.float32) / 255
    if a.limit:
        x = x[:a.limit]
    n = len(x)
    print(f"{n} x {x.shape[1]}, {os.cpu_count()} cores", flush=True)
    rng = np.random.default_rng(7)
    queries = np.sort(rng.choice(n, 1000, replace=False))
    from sklearn.neighbors import NearestNeighbors
    t = time.time()
    exact = NearestNeighbors(n_neighbors=16, algorithm="brute").fit(x).kneighbors(x[queries], return_distance=False)
    exact = [[j for j in row if j != q][:15] for row, q in zip(exact, queries)]
    report("exact k-NN of 1,000 queries (sklearn brute)", time.time() - t)

    def recall(idx):
        return np.mean([len(set(idx[q][:15]) & set(e)) / 15 for q, e in zip(queries, exact)])

    import pynndescent
    t = time.time()
    index = pynndescent.NNDescent(x, n_neighbors=16, random_state=0, n_jobs=-1)
    idx, _ = index.neighbor_graph
    idx = [[j for j in row if j != i][:15] for i, row in enumerate(idx)]
    report("k-NN graph k=15 (pynndescent 0.5.8, includes numba compilation)", time.time() - t, f"recall {recall(idx):.4f}")
    t = time.time()
    index = pynndescent.NNDescent(x, n_neighbors=16, random_state=1, n_jobs=-1)
    idx, _ = index.neighbor_graph
    idx = [[j for j in row if j != i][:15] for i, row in enumerate(idx)]
    report("k-NN graph k=15 (pynndescent, second run, compiled)", time.time() - t, f"recall {recall(idx):.4f}")

    import hnswlib
    t = time.time()
    h = hnswlib.Index(space="l2", dim=x.shape[1])
    h.init_index(max_elements=n, ef_construction=200, M=16, random_seed=0)
    h.add_items(x, num_threads=os.cpu_count())
    h.set_ef(50)
    labels, _ = h.knn_query(x, k=16, num_threads=os.cpu_count())
    idx = [[j for j in row if j != i][:15] for i, row in enumerate(labels)]
    report("k-NN graph k=15 (hnswlib 0.6.2, M=16, ef_construction=200, ef=50)", time.time() - t, f"recall {recall(idx):.4f}")

    from sklearn.manifold import trustworthiness
    sample = np.sort(rng.choice(n, min(5000, n), replace=False))
    from sklearn.decomposition import PCA
    t = time.time()
    y = PCA(n_components=2, svd_solver="randomized", random_state=0).fit_transform(x)
    report("PCA 2-D (sklearn randomized)", time.time() - t, f"trustworthiness {trustworthiness(x[sample], y[sample], n_neighbors=10):.4f}")
    if "tsne" not in a.skip:
        from sklearn.manifold import TSNE
        x50 = PCA(n_components=50, random_state=0).fit_transform(x)
        t = time.time()
        y = TSNE(n_components=2, random_state=0, init="pca", learning_rate="auto", n_jobs=os.cpu_count()).fit_transform(x50)
        report("t-SNE 2-D (sklearn Barnes-Hut, after PCA 50)", time.time() - t, f"trustworthiness {trustworthiness(x[sample], y[sample], n_neighbors=10):.4f}")


if __name__ == "__main__":
    main()

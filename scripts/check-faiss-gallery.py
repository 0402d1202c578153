"""Searches a PP-ShiTu gallery the way PaddleClas's deploy/python/predict_system.py does, and prints the result.

    python3 scripts/check-faiss-gallery.py GALLERY_DIR QUERIES.npy [--top-k 5]

GALLERY_DIR holds vector.index and id_map.pkl (from build_gallery.py, or exported by this project);
QUERIES.npy is an (n, d) array of query embeddings. Loads them with faiss.read_index and pickle.load, searches
each query's top k, and prints one JSON object: {"ids": [[...]], "scores": [[...]], "labels": [[...]]}, a row
per query; a label is id_map[id].split()[1], as predict_system takes it (null where faiss returns id -1: fewer
than k vectors). Needs faiss and numpy (Debian: apt-get install python3-faiss).
"""

import argparse
import json
import os
import pickle
import sys

import faiss
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("gallery", help="folder with vector.index and id_map.pkl")
    parser.add_argument("queries", help=".npy file of query embeddings, shape (n, d)")
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()

    # predict_system.SystemPredictor.__init__: the two files, read as it reads them.
    index = faiss.read_index(os.path.join(args.gallery, "vector.index"))
    with open(os.path.join(args.gallery, "id_map.pkl"), "rb") as fd:
        id_map = pickle.load(fd)

    queries = np.ascontiguousarray(np.load(args.queries), dtype=np.float32)
    if queries.ndim != 2 or queries.shape[1] != index.d:
        sys.exit(f"{args.queries}: shape {queries.shape}, expected (n, {index.d}) for this index")

    # predict_system.SystemPredictor.predict: Searcher.search, then id_map[id].split()[1] for the label.
    scores, ids = index.search(queries, args.top_k)
    labels = [[id_map[i].split()[1] if i != -1 else None for i in row] for row in ids]
    json.dump(
        {"ids": ids.tolist(), "scores": scores.astype(float).tolist(), "labels": labels},
        sys.stdout,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

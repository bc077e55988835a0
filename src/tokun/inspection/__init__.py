"""What tokun has learned, shown: maps of its latents, nearest neighbours, a projector export, one HTML report
(``tokun inspect``). Reads a tokenizer and the figures :mod:`tokun.evaluation` measured; imports nothing of it.

    inspect.py        `tokun inspect`: every map, table, export and the report, written to one folder
    embeddings.py     the points mapped: character vectors, block latents, words; script and language of each
    scripts.py        the Unicode Script of a character or a text (fontTools), samples of Unicode's blocks
    maps.py           PCA, UMAP and t-SNE maps: a PNG and a self-contained interactive page
    neighbours.py     nearest characters and words in latent space, with distances
    projector.py      the TensorBoard projector export (tensors, metadata, config)
    report.py         the static HTML report: maps, neighbours, accuracy, noise curves, speed
"""

METHODS = ("pca", "umap", "tsne")  # the projections of a map (:mod:`tokun.inspection.maps`)
MAX_POINTS = 2000  # per map: t-SNE and UMAP of both kinds in about two minutes on 2 cores

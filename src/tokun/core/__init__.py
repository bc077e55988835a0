"""The bottom layer: codec (numpy only), configs, the autoencoder, weights and checkpoints, errors, reading text
and atomic outputs, data sources (random codepoints, corpora), corpus splits, distances. Imports nothing above it."""

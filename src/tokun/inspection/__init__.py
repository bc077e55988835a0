"""What tokun has learned, shown: maps of its latents, nearest neighbours, a projector export, one HTML report
(``tokun inspect``). Reads a tokenizer and the figures :mod:`tokun.evaluation` measured; imports nothing of it."""

"""Files of any size: text to latents files and back, in bounded memory; datasets to Parquet shards and back.

    latents_file.py   encode/decode files of any size in bounded memory
    inputs.py         Parquet/JSONL/Arrow documents found, planned into shards, read a shard at a time
    datasets.py       documents -> Parquet shards of latents (resumable, byte-identical on a rerun)
    decoded.py        a shard folder back into rows: id, the text, the source's other columns (resumable)
    ray_data.py       the same job on Ray Data: one tokun model per actor, CPUs or GPUs
"""

"""Files of any size: text to latents files and back, in bounded memory; datasets to Parquet shards and back.

    latents_file.py   encode/decode files of any size in bounded memory
    datasets.py       Parquet/JSONL/Arrow documents -> Parquet shards of latents (resumable), and back
    ray_data.py       the same job on Ray Data: one tokun model per actor, CPUs or GPUs
"""

"""``tokun encode-dataset --ray [ADDRESS]`` and ``tokun decode-dataset --ray``: the same jobs as a Ray Data
pipeline, on one machine or a cluster.

The pipeline is ``from_items(shards to do)`` -> ``map_batches(ShardWorker)``, a pool of actors that each load one
tokun model (on a CPU with ``threads`` threads, or on one GPU) and encode and write whole shards with
:func:`tokun.streaming.datasets.encode_piece` (decode: :func:`~tokun.streaming.decoded.decode_piece`) -> the
per-shard results, streamed back to the driver as shards finish. The actors read the inputs and write the shards
themselves, with the single-process code: the shards are byte-identical to a single-process run's, resumable, and atomic, and the documents keep their global ids (the
position in the inputs), which ``ray.data.read_parquet`` does not carry and ``write_parquet`` would not name
deterministically. On a cluster, every node must see the inputs and ``--out`` at the same paths (a shared
filesystem) and have tokun installed.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..core.errors import InputError
from .datasets import Job, PieceResult, Runner
from .decoded import DecodeJob


class ShardWorker:
    """A Ray Data actor: one tokun model, loaded once; each batch names shards to encode (or decode) and write."""

    def __init__(self, job: Job | DecodeJob, threads: int | None, device: str) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.tok = job.tokenizer(device)
        if job.fingerprint and self.tok.fingerprint != job.fingerprint:
            raise InputError(f"model {job.model!r} differs on this Ray node from the driver's ({job.fingerprint})")
        self.job = job

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        """``batch["name"]``: shard names -> their :class:`PieceResult` fields, one row per shard (an Arrow table:
        ``problems`` is a list of strings per shard, kept apart whatever they hold)."""
        import pyarrow as pa

        results = [self.job.run(self.tok, str(name)) for name in batch["name"]]
        return pa.table(
            {
                "name": pa.array([r.name for r in results], pa.string()),
                "documents": pa.array([r.documents for r in results], pa.int64()),
                "chars": pa.array([r.chars for r in results], pa.int64()),
                "written": pa.array([r.written for r in results], pa.bool_()),
                "problems": pa.array([r.problems for r in results], pa.list_(pa.string())),
            }
        )


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """InputError at once if ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``) accepts no TCP connection: Ray
    itself retries an unreachable address for minutes."""
    if address in ("local", "auto"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"--ray {address}: give HOST:PORT, ray://HOST:PORT, auto, or no address (a local Ray)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise InputError(f"--ray {address}: cannot connect ({err.strerror or err})") from None


def run_on_ray(
    job: Job | DecodeJob,
    todo: list[str],
    *,
    address: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
) -> Iterator[PieceResult]:
    """Encode (decode) the shards named ``todo`` on Ray (``address``: ``"local"`` starts one here, else a cluster's
    address; an already initialised Ray is used as it is); each shard's result as it finishes."""
    if not todo:
        return
    check_reachable(address)
    import ray
    import ray.data

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise InputError(f"--ray {address}: cannot connect ({err})") from None
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False  # tokun's own bar counts documents
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        gpu = device.startswith("cuda")
        if workers is None:
            resources = ray.cluster_resources()
            workers = int(resources.get("GPU", 0)) if gpu else int(resources.get("CPU", 1) // (threads or 1))
        workers = max(1, min(workers, len(todo)))
        items = ray.data.from_items([{"name": name} for name in todo], override_num_blocks=len(todo))
        results = items.map_batches(
            ShardWorker,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_kwargs={"job": job, "threads": threads, "device": device},
            num_cpus=0 if gpu else (threads or 1),
            num_gpus=1 if gpu else 0,
        )
        for row in results.iter_rows():  # streamed: a row as soon as its shard is written
            yield PieceResult(
                str(row["name"]),
                int(row["documents"]),
                int(row["chars"]),
                [str(p) for p in (row["problems"] if row["problems"] is not None else [])],
                bool(row["written"]),
            )
    finally:
        if started:
            ray.shutdown()


def ray_runner(
    address: str = "local", *, workers: int | None = None, threads: int | None = None, device: str = "cpu"
) -> Runner:
    """The ``runner`` of :func:`tokun.streaming.datasets.encode_dataset` (and ``decode_dataset``) that runs the
    shards on Ray Data."""
    return functools.partial(run_on_ray, address=address, workers=workers, threads=threads, device=device)

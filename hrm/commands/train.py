from __future__ import annotations

from pathlib import Path

import typer


def train(
    config: str = typer.Argument(None, help="A preset in configs/ (e.g. sudoku_demo_cpu) or a YAML path.", show_default=False),
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. train.max_steps=200 optim.lr=1e-3.",
                                          show_default=False),
    name: str = typer.Option(None, help="Run name (the run id starts with it)."),
    seed: int = typer.Option(None, help="Random seed."),
    device: str = typer.Option(None, help="auto, cpu, cuda, cuda:N or mps."),
    run_id: str = typer.Option(None, "--run-id", help="Run folder name under --logs-dir (default: NAME-DATE-TIME)."),
    logs_dir: Path = typer.Option(Path("logs"), "--logs-dir", help="Folder holding the run directories."),
    resume: str = typer.Option(None, help="Continue a run (id, id prefix or path) from its newest valid checkpoint."),
    supervise: bool = typer.Option(False, help="Restart the trainer when it crashes or hangs (what the dashboard uses)."),
    max_restarts: int = typer.Option(None, "--max-restarts", help="Supervisor: failed attempts in a row before giving up."),
    nproc_per_node: int = typer.Option(1, "--nproc-per-node", help="Processes per node: > 1 launches torchrun (DDP)."),
    nnodes: str = typer.Option("1", help="torchrun: number of nodes (or MIN:MAX)."),
    node_rank: int = typer.Option(None, "--node-rank", help="torchrun: this node's rank."),
    rdzv_endpoint: str = typer.Option("", "--rdzv-endpoint", help="torchrun: HOST:PORT of the rendezvous (multi-node)."),
    rdzv_id: str = typer.Option("", "--rdzv-id", help="torchrun: rendezvous id shared by all nodes."),
    prometheus_port: int = typer.Option(None, "--prometheus-port", help="Serve live metrics for Prometheus on this port."),
) -> None:
    """Train a model headless into logs/<run>/ (checkpoints, metrics, events); resumable, supervised, distributed."""
    from hrm.train.launch import LaunchOptions, launch

    overrides = list(overrides or [])
    if config and "=" in config:  # `hrm train --resume RUN key=value`: no config, only overrides
        overrides.insert(0, config)
        config = None
    opts = LaunchOptions(
        config=config, overrides=overrides, name=name, seed=seed, device=device, run_id=run_id, logs_dir=logs_dir,
        resume=resume, supervise=supervise, max_restarts=max_restarts, nproc_per_node=nproc_per_node, nnodes=nnodes,
        node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, rdzv_id=rdzv_id, prometheus_port=prometheus_port,
    )
    raise typer.Exit(launch(opts, echo=typer.echo))

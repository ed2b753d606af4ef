"""``lstm-apps export``: an app's inference graphs as ONNX or TorchScript, checked against PyTorch.

Each app names its graphs (``AppModule.export_graphs``): the tagger its emission scorer, the
generating apps their encoder and one decoder step with the recurrent state as explicit inputs and
outputs, so a runtime can drive greedy or beam search itself. Every exported file is run on fresh
random inputs of another batch size (ONNX through onnxruntime) and compared with the PyTorch
module; the largest absolute difference is reported and a difference above ``tolerance`` fails.
Graphs take unpadded batches (no packing inside): pad-free inputs, or one sequence at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from lstm_apps.core.export_graph import ExportGraph
from lstm_apps.core.layer_stack import LayerStack
from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra
from lstm_apps.folders import output_folder
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint

FORMATS = ("onnx", "torchscript")


def _outputs(result: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return result if isinstance(result, tuple) else (result,)


def _max_difference(expected: tuple[torch.Tensor, ...], found: list) -> float:
    worst = 0.0
    for e, f in zip(expected, found, strict=True):
        f = torch.as_tensor(f)
        if e.dtype == torch.bool or not e.is_floating_point():
            worst = max(worst, float((e.long() != f.long()).any()))
        else:
            worst = max(worst, float((e.float() - f.float()).abs().max()) if e.numel() else 0.0)
    return worst


def export_graph(graph: ExportGraph, folder: Path, fmt: str) -> tuple[Path, float]:
    """Write ``graph`` in ``fmt`` to ``folder``; return the file and the max difference on new inputs."""
    module = graph.module.eval()
    with torch.no_grad():
        example = graph.make_inputs(2)
        check = graph.make_inputs(3)
        expected = _outputs(module(*check))
        if fmt == "torchscript":
            path = folder / f"{graph.name}.pt"
            traced = torch.jit.trace(module, example, check_trace=False)
            traced.save(str(path))
            found = list(_outputs(torch.jit.load(str(path))(*check)))
        else:
            import onnxruntime

            path = folder / f"{graph.name}.onnx"
            torch.onnx.export(
                module,
                example,
                str(path),
                input_names=graph.input_names,
                output_names=graph.output_names,
                dynamic_axes=graph.dynamic_axes,
                dynamo=False,
                opset_version=17,
            )
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            feed = {name: tensor.numpy() for name, tensor in zip(graph.input_names, check, strict=True)}
            found = session.run(graph.output_names, feed)
    if graph.extras:
        (folder / f"{graph.name}.json").write_text(json.dumps(graph.extras, indent=2))
    return path, _max_difference(expected, found)


def refuse_unexportable_cells(model: torch.nn.Module) -> None:
    """minGRU / minLSTM / sLSTM / mLSTM run the sequence in a loop of as many steps (or chunks, or
    scan passes) as its length asks: a traced graph would keep the length of the example it was
    traced with, and answer other lengths wrongly."""
    cells = sorted({m.cell for m in model.modules() if isinstance(m, LayerStack)})
    if cells:
        raise UserError(
            f"export: model.cell={cells[0]}: its loop over time follows the sequence's length, which a traced "
            "ONNX or TorchScript graph would fix to one length; export takes lstm, gru or rnn models "
            "(serve this one with lstm-apps serve, or predict with lstm-apps predict)"
        )


def export(cfg: DictConfig) -> dict[str, float]:
    """Export every graph of ``cfg.ckpt_path``'s app; print one line per graph."""
    fmt = str(cfg.format)
    if fmt not in FORMATS:
        raise UserError(f"format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "onnx":
        require_extra("export", "format=onnx")
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    folder = output_folder(
        Path(cfg.output_dir) if cfg.get("output_dir") else info.path.parent.parent / "export", "output_dir"
    )
    model = model_from_checkpoint(info).cpu().float().eval()
    refuse_unexportable_cells(model)
    graphs = model.export_graphs()
    if not graphs:
        raise UserError(f"app {info.app!r} has no exportable graphs")
    differences = {}
    for graph in graphs:
        path, difference = export_graph(graph, folder, fmt)
        differences[graph.name] = difference
        verdict = "ok" if difference <= float(cfg.tolerance) else "MISMATCH"
        runtime = "onnxruntime" if fmt == "onnx" else "torch.jit"
        print(f"{graph.name}: {path}  max |{runtime} - pytorch| = {difference:.2e}  {verdict}", flush=True)
    failed = [name for name, d in differences.items() if d > float(cfg.tolerance)]
    if failed:
        raise UserError(
            f"export: {', '.join(failed)} differ from PyTorch by more than tolerance={cfg.tolerance}"
        )
    return differences

"""A benchmark result as ``reports/bench/<device>_<dataset>_<variant>.json`` and a Markdown summary beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_lib.io import atomic_path, write_json

MIB = 1024 * 1024


def report_stem(out_dir: Path, device: str, dataset_label: str, variant: str) -> Path:
    return out_dir / f"{device}_{dataset_label}_{variant}"


def _row(name: str, value: str) -> str:
    return f"| {name} | {value} |"


def _memory(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:,.0f} MiB"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def hf_section(result: dict[str, Any]) -> list[str]:
    """The ``--reference hf`` comparison: sizes, both sides' medians and ours / reference."""
    hf = result["hf_reference"]
    train, decode = hf["train"], hf["decode"]
    beams = [row for row in decode.values() if isinstance(row, dict)]
    lines = [
        "",
        "## Against the Hugging Face reference",
        "",
        f"Reference: {hf['reference']} (transformers {hf['transformers']}, plain T5 = TIGER backbone, "
        f"{hf['reference_parameters']:,} trainable parameters); device **{result['device_name']}**, "
        f"{result['cpu_threads']} CPU threads.",
        f"Sizes: {train['steps_per_repeat']} training steps of batch {train['batch_size']} "
        f"({'/'.join(str(n) for n in sorted(set(train['samples_per_repeat'])))} samples) per side and repeat, the reference's histories padded to "
        f"{train['reference_history_tokens']} tokens; {decode['users']} validation users decoded per side, beam and "
        f"repeat over {decode['items']} items in batches of {decode['batch_size']}, top {decode['top_k']}.",
        f"Medians of {hf['repeats']} interleaved repeats (ours, reference, ours, …) after "
        f"{train['warmup_steps']} warm-up steps and one warm-up decoding batch per beam. Ratio = ours / reference "
        "(speed: median of the per-repeat ratios; > 1 = ours faster. Memory: peak allocated on top of what each "
        "timed call began with, CUDA only; < 1 = ours needs less).",
        "",
        "| measure | ours | reference | ours / reference |",
        "|---|---|---|---|",
        f"| training samples/s | {train['ours']['samples_per_s']:,.0f} | {train['reference']['samples_per_s']:,.0f} "
        f"| {_ratio(train['samples_per_s_ratio'])} |",
        f"| training peak memory | {_memory(train['ours']['peak_extra_memory_bytes'])} | "
        f"{_memory(train['reference']['peak_extra_memory_bytes'])} | {_ratio(train['peak_memory_ratio'])} |",
    ]
    for row in beams:
        beam = row["beam_size"]
        lines += [
            f"| decoded users/s, beam {beam} | {row['ours']['users_per_s']:,.1f} | "
            f"{row['reference']['users_per_s']:,.1f} | {_ratio(row['users_per_s_ratio'])} |",
            f"| decoding peak memory, beam {beam} | {_memory(row['ours']['peak_extra_memory_bytes'])} | "
            f"{_memory(row['reference']['peak_extra_memory_bytes'])} | {_ratio(row['peak_memory_ratio'])} |",
        ]
    shares = ", ".join(f"beam {row['beam_size']}: {100 * row['reference_valid_item_share']:.0f} %" for row in beams)
    lines += ["", f"Reference lists that are catalogue items (warm-up batch): {shares}."]
    return lines


def profile_section(profiled: dict[str, Any]) -> list[str]:
    """FLOPs per sample, achieved GFLOP/s against the peak, and the ops that take the step's time."""
    peak = profiled["peak_gflops"]
    share = "" if peak is None else f" = {100 * profiled['peak_share']:.1f} % of the {peak:,.0f} GFLOP/s fp32 peak"
    lines = [
        "",
        f"Profile of {profiled['steps']} training steps ({profiled['samples']} samples): "
        f"{profiled['flops_per_sample'] / 1e6:,.1f} MFLOP per sample (matrix products and attention, forward and "
        f"backward); at the training rate above {profiled['achieved_gflops']:,.1f} GFLOP/s{share}.",
        "",
        "| op | share of self time | calls |",
        "|---|---:|---:|",
    ]
    return lines + [f"| `{row['op']}` | {100 * row['self_share']:.1f} % | {row['calls']} |" for row in profiled["top_ops"]]


def markdown(result: dict[str, Any]) -> str:
    """A human-readable summary: what ran where, the medians, and the reference comparison."""
    train, evaluation, reference = result["train"], result["eval"], result["reference"]
    data, settings = result["data"], result["settings"]
    source = "synthetic catalogue" if result["synthetic"] else "pipeline artifacts"
    memory = "peak CUDA memory allocated" if result["memory_kind"] == "cuda_max_allocated" else "peak process RSS"
    lines = [
        f"# Benchmark: {result['variant']} on {result['dataset']} ({source})",
        "",
        f"Device: **{result['device_name']}**; torch {result['torch']}, {result['cpu_threads']} CPU threads; "
        f"bf16 autocast {'on' if settings['bf16_autocast'] else 'off'}, torch.compile {'on' if settings['compile'] else 'off'}, "
        f"CUDA graphs {'on' if settings.get('cuda_graphs') else 'off'}, "
        f"fused AdamW {'on' if settings['fused_adamw'] else 'off'}.",
        f"Data: {data['users']} users, {data['items']} items, {data['train_samples']} training samples. "
        f"Model: {result['model']['parameters']:,} trainable parameters.",
        f"Medians of {settings['repeats']} repeats after {train['warmup_steps']} warm-up steps / one warm-up decoding batch.",
        "",
        "| measure | value |",
        "|---|---|",
        _row("training samples/s", f"{train['samples_per_s']:,.0f} (batch {train['batch_size']}, "
             f"{train['steps_per_repeat']} of {train['batches_per_epoch']} steps per repeat)"),
        _row("seconds per epoch", f"{train['epoch_seconds']:.2f}"),
        _row("model-only samples/s", f"{train['model_only_samples_per_s']:,.0f}"),
        _row("step time outside the model (data, Python)", f"{100 * train['outside_model_share']:.1f} % "
             f"(1 − model alone / as trained); drawing + indexing batches alone: {100 * train['data_alone_share']:.1f} %"),
        _row(f"training {memory}", f"{train['peak_memory_bytes'] / MIB:,.0f} MiB"),
        _row(f"evaluation users/s (beam {evaluation['beam_size']}, {evaluation['items']} items)",
             f"{evaluation['users_per_s']:,.0f} ({evaluation['users']} users in {evaluation['seconds']:.2f} s, "
             f"batch {evaluation['batch_size']})"),
        _row(f"evaluation {memory}", f"{evaluation['peak_memory_bytes'] / MIB:,.0f} MiB"),
        "",
        "Trie-constrained beam search (ours) against the reference decoders of `pipeline_lib/decoding/reference.py`, "
        "float32, same users and weights:",
        "",
        "| reference | items | users | beam | same top-k (items, order) | ours (s) | reference (s) | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in reference.items():
        same = "yes" if row["identical"] else f"no ({row['mismatched_users']} users differ)"
        lines.append(
            f"| {name} | {row['items']} | {row['users']} | {row['beam_size']} | {same} | "
            f"{row['fast_seconds']:.4f} | {row['reference_seconds']:.4f} | {row['speedup']:,.1f}× |"
        )
    if "profile" in train:
        lines += profile_section(train["profile"])
    if "targets" in result:
        targets = result["targets"]
        lines += [
            "",
            "Targets (one H100, Scientific size):",
            f"epoch {train['epoch_seconds']:.2f} s vs ≤ {targets['epoch_seconds_max']:.0f} s "
            f"({'met' if targets['epoch_met'] else 'missed'}); decoding 51k users "
            f"{targets['eval_seconds_for_51k_users']:.2f} s vs ≤ {targets['eval_seconds_max']:.0f} s "
            f"({'met' if targets['eval_met'] else 'missed'}).",
        ]
    if "hf_reference" in result:
        lines += hf_section(result)
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, result: dict[str, Any], dataset_label: str) -> tuple[Path, Path]:
    """Write the JSON and the Markdown atomically; returns their paths."""
    stem = report_stem(out_dir, result["device"], dataset_label, result["variant"])
    json_path, md_path = stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.md"
    write_json(json_path, result)
    with atomic_path(md_path) as tmp:
        tmp.write_text(markdown(result))
    return json_path, md_path

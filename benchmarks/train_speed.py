"""Training speed on this machine: steps/s and images/s of a rate-distortion training step.

For each model size (``mbt2018-mean`` with the channels of quality 1 and of quality 5), each
setting (eager fp32, channels-last, channels-last + bf16 autocast, torch.compile) and each
allocator (glibc, or tcmalloc through ``LD_PRELOAD``) a fresh subprocess runs a few warm-up
steps and then times a few more on random batches (data loading is not measured). One JSON
line per run is printed and, with ``--output``, appended to a file. Besides wall-clock
rates, ``cpu_s_per_step`` (process CPU time over all threads) and the load average before
the run tell how much other work on a shared machine slowed it down. Examples::

    python benchmarks/train_speed.py --output results/train_speed_cpu.json
    python benchmarks/train_speed.py --device cuda --settings eager channels-last-bf16

tcmalloc is Debian's ``libtcmalloc-minimal4`` (``apt-get install libtcmalloc-minimal4``);
runs that ask for it are skipped with a note when the library is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TCMALLOC = Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")
SETTINGS = {
    "eager": {},
    "channels-last": {"channels_last": True},
    "channels-last-bf16": {"channels_last": True, "bf16": True},
    "compile": {"compile": True},
}
ALLOCATORS = ("glibc", "tcmalloc")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Time :meth:`RateDistortion.step` in this process for ``args.quality`` and
    ``args.setting``."""
    import torch

    from licodec.app.training import RateDistortion, TrainConfig
    from licodec.app.training.state import hardware_description
    from licodec.models import build

    load_before = os.getloadavg()[0]
    options = SETTINGS[args.setting]
    config = TrainConfig(args.model, args.quality, Path(), Path(), device=args.device, **options)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build(args.model, args.quality).to(device).train()
    x = torch.rand(args.batch_size, 3, args.crop, args.crop, device=device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    objective = RateDistortion(model, config)
    if config.compile:
        objective.wrap(torch.compile)

    def step() -> float:
        start = time.perf_counter()
        objective.step(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    warmup = sum(step() for _ in range(args.warmup))
    cpu_start = time.process_time()
    times = [step() for _ in range(args.steps)]
    cpu_per_step = (time.process_time() - cpu_start) / args.steps
    mean = statistics.fmean(times)
    return {
        "model": args.model,
        "quality": args.quality,
        "n": model.config["n"],
        "m": model.config["m"],
        "setting": args.setting,
        "allocator": args.allocator,
        "device": args.device,
        "batch_size": args.batch_size,
        "crop": args.crop,
        "threads": torch.get_num_threads(),
        "warmup_steps": args.warmup,
        "warmup_s": round(warmup, 2),
        "timed_steps": args.steps,
        "s_per_step_mean": round(mean, 3),
        "s_per_step_median": round(statistics.median(times), 3),
        "steps_per_s": round(1 / mean, 4),
        "images_per_s": round(args.batch_size / mean, 3),
        "cpu_s_per_step": round(cpu_per_step, 3),
        "hardware": hardware_description(device),
        "load_avg_1m_before": round(load_before, 2),
        "torch": torch.__version__,
    }


def run_all(args: argparse.Namespace) -> None:
    """Run every requested combination in its own subprocess and collect the JSON lines."""
    lines = []
    for allocator in args.allocators:
        env = dict(os.environ)
        if allocator == "tcmalloc":
            if not TCMALLOC.is_file():
                print(f"# skipping tcmalloc: {TCMALLOC} not found", file=sys.stderr)
                continue
            env["LD_PRELOAD"] = ":".join(filter(None, [str(TCMALLOC), env.get("LD_PRELOAD")]))
        for quality in args.qualities:
            for setting in args.settings:
                command = [
                    sys.executable,
                    __file__,
                    "--worker",
                    f"--model={args.model}",
                    f"--quality={quality}",
                    f"--setting={setting}",
                    f"--allocator={allocator}",
                    f"--device={args.device}",
                    f"--batch-size={args.batch_size}",
                    f"--crop={args.crop}",
                    f"--warmup={args.warmup}",
                    f"--steps={args.steps}",
                ]
                try:
                    done = subprocess.run(
                        command, env=env, capture_output=True, text=True, timeout=args.timeout
                    )
                    if done.returncode:
                        result = {"error": done.stderr.strip().splitlines()[-1:]}
                    else:
                        result = json.loads(done.stdout.strip().splitlines()[-1])
                except subprocess.TimeoutExpired:
                    result = {"error": f"timed out after {args.timeout} s"}
                result = {"quality": quality, "setting": setting, "allocator": allocator, **result}
                line = json.dumps(result)
                print(line, flush=True)
                lines.append(line)
    if args.output is not None and lines:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with open(args.output, "a") as handle:
            handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mbt2018-mean")
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--allocators", nargs="+", choices=ALLOCATORS, default=list(ALLOCATORS))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compile here)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--output", type=Path, default=None, help="also append the lines here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quality", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--setting", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--allocator", choices=ALLOCATORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args)))
    else:
        run_all(args)


if __name__ == "__main__":
    main()

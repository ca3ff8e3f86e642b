"""Instructions per event on the hot path, counted by callgrind: repeatable to the instruction, unlike a clock.

python -m squall.bench.instructions --rules 100 --events 10000     # runs itself under valgrind
make callgrind                                                      # the same, 100 rules

The measured part is one ``functools.reduce`` over prepared batches (RawEvents built beforehand),
run after a pass over the same batches that fills the caches (index buckets, parsed times, client
addresses, the interpreter's specializations): ``valgrind --tool=callgrind
--toggle-collect=functools_reduce`` counts only what runs inside that call, which is what
``BatchRunner.run`` does per batch in ``squall bench`` (normalize, ``needs_state``, ``evaluate``).
``PYTHONHASHSEED`` is fixed so that string hashing, and with it the count, repeats run to run.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.events import RawEvent
from squall.bench.runner import BatchRunner, BenchConfig, build_ruleset, raw_batches

#: The C function callgrind counts inside (CPython's ``functools.reduce``).
TOGGLE = "functools_reduce"
_TOTALS = re.compile(r"^(?:totals|summary):\s*(\d+)", re.MULTILINE)


def run_workload(config: BenchConfig) -> int:
    """Fill the caches with one pass, then run the batches once more inside ``functools.reduce``."""
    ruleset = build_ruleset(config)
    batches = raw_batches(config.events, seed=config.seed, batch=config.batch)
    warm = BatchRunner(ruleset)
    for batch in batches:
        warm.run(batch)
    runner = BatchRunner(ruleset)
    gc.collect()
    gc.freeze()  # the prepared input is not garbage, as in ``squall bench``'s timed runs
    functools.reduce(_step, batches, runner)
    return runner.counters.events


def _step(runner: BatchRunner, batch: list[RawEvent]) -> BatchRunner:
    runner.run(batch)
    return runner


def measure(config: BenchConfig) -> tuple[int, int]:
    """(instructions, events) of the measured ``reduce``, running this module under callgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            valgrind, "--tool=callgrind", f"--toggle-collect={TOGGLE}", f"--callgrind-out-file={out}",
            sys.executable, "-m", "squall.bench.instructions", "--inner",
            "--rules", str(config.rules), "--events", str(config.events),
            "--batch", str(config.batch), "--seed", str(config.seed),
            *(["--stateful"] if config.stateful else []),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
        found = _TOTALS.search(out.read_text())
        if found is None:
            raise SystemExit(f"no totals in {out}")
        events = int(done.stdout.strip().splitlines()[-1])
        return int(found.group(1)), events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m squall.bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stateful", action="store_true")
    parser.add_argument("--inner", action="store_true", help="run the workload only (what valgrind runs)")
    args = parser.parse_args(argv)
    config = BenchConfig(
        rules=args.rules, events=args.events, batch=args.batch, seed=args.seed, stateful=args.stateful, warmup=0
    )
    if args.inner:
        print(run_workload(config))
        return
    instructions, events = measure(config)
    print(
        f"{instructions / events:,.0f} instructions per event "
        f"({instructions:,} for {events:,} events, {config.rules} rules{', stateful' if config.stateful else ''})"
    )


if __name__ == "__main__":
    main()

"""The bench `Launcher` over submitit, for clusters that have Slurm and no Ray.

Each model is one submitit job (`AutoExecutor`: a Slurm job where `sbatch` exists, a local process
otherwise or with `cluster="local"`), with the Slurm parameters given (`slurm_gres="gpu:a100:1"`,
`slurm_partition=...` name the GPU kind as `--on` does on Ray). The job speaks the process
launcher's messages (`segbench.bench.messages`) as JSON Lines into a spool file in the shared
submitit folder, each flushed and fsynced before measuring goes on; the driver reads them as they
come and is the only writer of the results file. A job that dies (preempted, killed, out of time)
leaves rows for what it did not hand back; Ctrl-C cancels the jobs and keeps what came back.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from segbench.bench.messages import Received, stream_model, unfinished_rows
from segbench.bench.observer import Observer, Silent
from segbench.bench.plan import Plan
from segbench.bench.sink import ResultsSink
from segbench.errors import InputError, Interrupted
from segbench.records.schema import Record

POLL_S = 0.5


def submitit_module() -> Any:
    try:
        import submitit
    except ImportError:
        raise InputError("the Slurm launcher needs submitit, which is not installed: "
                         "pip install 'segbench[fleet]'") from None
    return submitit


def slurm_job(plan_data: dict[str, Any], model: str, run_id: str, spool: str) -> str:
    """The job: one model's points, every message a JSON line in `spool` (on the shared folder)."""
    from segbench.families.registry import quiet_warnings

    quiet_warnings()
    with open(spool, "a", encoding="utf-8") as handle:
        def put(message: tuple) -> None:
            handle.write(json.dumps(message, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # on the shared disk before measuring goes on

        job = os.environ.get("SLURM_JOB_ID")
        stream_model(plan_data, model, run_id, put, samples=False,
                     environment={"fleet": {"launcher": "submitit", "slurm_job_id": job}} if job else None)
    return "done"


class SubmititLauncher:
    name = "submitit"

    def __init__(self, folder: str | Path, cluster: str | None = None, **parameters: Any) -> None:
        self.folder = Path(folder)
        self.cluster = cluster
        self.parameters = parameters  # e.g. timeout_min, slurm_partition, slurm_gres, gpus_per_node

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        submitit = submitit_module()
        executor = submitit.AutoExecutor(folder=str(self.folder / "%j"), cluster=self.cluster)
        executor.update_parameters(**{"timeout_min": 60, **self.parameters})
        spools = self.folder / f"spool-{run_id}"
        spools.mkdir(parents=True, exist_ok=True)
        running = []
        for model in plan.models:
            spool = spools / f"{len(running)}.jsonl"
            job = executor.submit(slurm_job, plan.to_dict(), model, run_id, str(spool))
            running.append((model, job, spool, Received(), [0]))
        try:
            while running:
                for entry in list(running):
                    model, job, spool, received, offset = entry
                    done = job.done()  # before reading: what a finished job wrote is all there
                    self._read(spool, offset, received, sink, observer)
                    if done:
                        running.remove(entry)
                        self._ended(plan, model, job, received, sink, observer, run_id)
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            for model, job, spool, received, offset in running:
                job.cancel(check=False)
                self._read(spool, offset, received, sink, observer)
            raise Interrupted("interrupted") from None

    @staticmethod
    def _read(spool: Path, offset: list[int], received: Received, sink: ResultsSink, observer: Observer) -> None:
        """New complete lines of the spool (a line being written is read next time)."""
        if not spool.exists():
            return
        with spool.open("rb") as handle:
            handle.seek(offset[0])
            data = handle.read()
        end = data.rfind(b"\n") + 1
        offset[0] += end
        for line in data[:end].splitlines():
            if line.strip():
                received.take(tuple(json.loads(line)), sink, observer)

    @staticmethod
    def _ended(plan: Plan, model: str, job: Any, received: Received, sink: ResultsSink, observer: Observer,
               run_id: str) -> None:
        received.raise_failure()
        if received.finished and received.crash is None:
            return
        if received.crash is not None:
            how = f"failed ({received.crash})"
        else:
            try:
                job.result()
                how = "ended without finishing"
            except Exception as exc:  # noqa: BLE001 - submitit's failure, whatever its kind, is the reason
                how = f"died (job {job.job_id}, {job.state}: {str(exc).strip().splitlines()[-1][:200]})"
        environment = received.last.environment if received.last else None
        for measured in unfinished_rows(plan, model, received, how, run_id, environment=environment):
            observer.record(sink.write(measured))
        observer.note(f"{model}: the job {how}; its unmeasured points are rows")


def run_submitit(plan: Plan, output: str | Path, folder: str | Path, observer: Observer | None = None, *,
                 cluster: str | None = None, **parameters: Any) -> list[Record]:
    """Measure `plan` with one submitit job per model (Slurm where there is one), into one results file."""
    from segbench.bench.runner import interrupted_message
    from segbench.fleet.run import check_names

    check_names(plan)
    submitit_module()
    with ResultsSink(output) as sink:
        try:
            SubmititLauncher(folder, cluster, **parameters).launch(plan, sink, observer or Silent(), uuid.uuid4().hex[:12])
        except Interrupted:
            raise Interrupted(interrupted_message(plan, sink)) from None
    return sink.records

"""segbench on a Ray cluster: a plan run once per GPU kind, and throughput sharded over N workers.

- `cluster`: connecting (Ray is imported here only, lazily: the single-machine path never needs it),
  the nodes and the kinds they offer, and the version check every node passes before anything runs.
- `node`: what runs on a node: its identity, one model's points streamed back (the process
  launcher's messages), one throughput shard.
- `launcher`: `RayLauncher`, behind the bench `Launcher` seam: one task per model and kind, records
  streamed into one sink, a dead node's unfinished points retried once elsewhere or recorded failed.
- `throughput`: one input set over 1, 2, 4... workers; aggregate items/hour, scaling efficiency.
- `slurm`: the same seam over submitit for clusters with Slurm and no Ray.
"""

"""The one timing harness every workload uses: warm-up, sync, repeat, statistics, memory, OOM, FLOPs."""

"""What a model workload costs without running it: FLOPs, bytes moved, kernels and memory,
counted on torch's `meta` device (`counting`) and assembled per workload (`footprint`).

The bench records the FLOPs it reads here; the advisor predicts time and memory from the same
footprints. Families supply the model-specific parts (see `segbench.families.base.Family.cost`).
"""

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query

# Counting a registered model and assembling its footprint is segbench.families.costs (above the families).
__all__ = ["Counts", "Footprint", "ModelCounts", "Query", "count"]

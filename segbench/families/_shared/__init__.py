"""What several families use: the weights resolver, the transformers helpers, and the SAM-style
still-image workloads. A family folder imports only `segbench.families.base`, this package and itself."""

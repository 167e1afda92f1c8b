"""The advisor's model layer: time (roofline x fitted efficiencies) and memory, over counted footprints."""

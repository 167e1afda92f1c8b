"""The advisor's data layer: profiles read and validated (devices, builds and prices, published timings, calibration)."""

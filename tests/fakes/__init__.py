"""Fakes of library boundaries that cannot be real on a machine without a GPU (see fake_pynvml)."""

"""Host findings: CPU frequency policy, disk space, writable results folder, torch threads, OpenMP/MKL variables."""

from __future__ import annotations

import os

import pytest

from segbench.doctor import CpuFreqPolicy, DoctorRequest
from segbench.doctor.hostfacts import read_cpu_quota, read_cpufreq
from tests.doctor_helpers import GiB, by_id, context, findings, host, torch_state


def test_os_frequency_cap_warns():
    policy = CpuFreqPolicy(current_mhz=1800, hardware_max_mhz=4800, scaling_max_mhz=2000, governor="powersave",
                           driver="intel_pstate")
    f = by_id(findings(context([], host_facts=host(cpufreq=policy))), "host.cpu_frequency")
    assert f.severity == "warn" and "2000 MHz of its 4800 MHz" in f.cause
    assert "cpupower frequency-set -u 4800MHz" in f.fix


def test_acpi_powersave_governor_warns_but_intel_pstate_powersave_does_not():
    pinned = CpuFreqPolicy(current_mhz=800, hardware_max_mhz=3600, scaling_max_mhz=3600, governor="powersave",
                           driver="acpi-cpufreq")
    assert by_id(findings(context([], host_facts=host(cpufreq=pinned))), "host.cpu_frequency").severity == "warn"
    dynamic = CpuFreqPolicy(current_mhz=800, hardware_max_mhz=3600, scaling_max_mhz=3600, governor="powersave",
                            driver="intel_pstate")
    assert by_id(findings(context([], host_facts=host(cpufreq=dynamic))), "host.cpu_frequency").severity == "ok"


def test_slow_cpu_on_battery_warns():
    policy = CpuFreqPolicy(current_mhz=900, hardware_max_mhz=4000, scaling_max_mhz=4000)
    f = by_id(findings(context([], host_facts=host(cpufreq=policy, on_battery=True))), "host.cpu_frequency")
    assert f.severity == "warn" and "battery" in f.cause


def test_no_frequency_information_is_skipped():
    facts = host(cpu={"physical_cores": 2, "logical_cores": 2, "usable_cores": 2})
    assert by_id(findings(context([], host_facts=facts)), "host.cpu_frequency").severity == "skipped"


def test_read_cpufreq_and_quota_from_files(tmp_path):
    folder = tmp_path / "cpufreq"
    folder.mkdir()
    for name, value in {"scaling_cur_freq": "1200000", "cpuinfo_max_freq": "4800000", "scaling_max_freq": "2000000",
                        "scaling_governor": "powersave", "scaling_driver": "intel_pstate"}.items():
        (folder / name).write_text(value + "\n")
    assert read_cpufreq(folder) == CpuFreqPolicy(1200.0, 4800.0, 2000.0, "powersave", "intel_pstate")
    assert read_cpufreq(tmp_path / "absent") == CpuFreqPolicy()
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert read_cpu_quota(quota) == 1.5
    quota.write_text("max 100000\n")
    assert read_cpu_quota(quota) is None


def _disk(ctx, purpose, free):
    for entry in ctx.disk:
        if entry["purpose"] == purpose:
            entry["free_bytes"] = free
    return ctx


@pytest.mark.parametrize("purpose, free, severity", [
    ("checkpoints", 0.5 * GiB, "fail"), ("checkpoints", 3 * GiB, "warn"), ("checkpoints", 50 * GiB, "ok"),
    ("results", 50 * 2**20, "fail"), ("results", 0.5 * GiB, "warn"), ("results", 2 * GiB, "ok"),
])
def test_disk_space_thresholds(tmp_path, purpose, free, severity):
    ctx = _disk(context([], tmp=tmp_path), purpose, free)
    f = by_id(findings(ctx), f"host.disk.{purpose}")
    assert f.severity == severity
    if severity != "ok":
        assert str(tmp_path) in f.cause and "free space" in f.fix


def test_results_folder_that_does_not_exist_yet_is_ok_when_its_parent_is_writable(tmp_path):
    f = by_id(findings(context([], tmp=tmp_path)), "host.results_writable")
    assert f.severity == "ok" and "will be created" in f.cause
    assert not (tmp_path / "results").exists()  # the doctor does not create it
    assert list(tmp_path.iterdir()) == []  # nor leave its probe file behind


def test_results_path_that_is_a_file_fails(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    f = by_id(findings(context([], tmp=tmp_path)), "host.results_writable")
    assert f.severity == "fail" and "is a file" in f.cause


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_results_folder_fails(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        f = by_id(findings(context([], tmp=tmp_path)), "host.results_writable")
    finally:
        folder.chmod(0o700)
    assert f.severity == "fail" and "--results-dir" in f.fix


def test_read_only_results_folder_fails_through_a_refused_write(tmp_path, monkeypatch):
    # The same case where tests run as root: the write attempt is what is refused.
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    f = by_id(findings(context([], tmp=tmp_path)), "host.results_writable")
    assert f.severity == "fail" and "Permission denied" in f.cause


def test_threads_more_than_usable_cpus_warns():
    facts = host(cpu={"physical_cores": 8, "logical_cores": 16, "usable_cores": 16}, cpu_quota=2.0)
    f = by_id(findings(context([], host_facts=facts)), "host.threads")  # torch runs 8
    assert f.severity == "warn" and "only 2 CPU(s)" in f.cause and "OMP_NUM_THREADS=2" in f.fix


def test_threads_beyond_physical_cores_warns():
    f = by_id(findings(context([], torch=torch_state(num_threads=16, cuda_available=False))), "host.threads")
    assert f.severity == "warn" and "16 threads on 8 physical cores" in f.cause


def test_single_thread_on_many_cores_warns():
    ctx = context([], torch=torch_state(num_threads=1, cuda_available=False), host_facts=host(env={"OMP_NUM_THREADS": "1"}))
    items = findings(ctx)
    f = by_id(items, "host.threads")
    assert f.severity == "warn" and "only 1 thread" in f.cause and "OMP_NUM_THREADS" in f.fix


def test_one_thread_per_physical_core_is_ok():
    assert by_id(findings(context([])), "host.threads").severity == "ok"


@pytest.mark.parametrize("env, expected", [
    ({}, None),
    ({"OMP_NUM_THREADS": "8"}, None),
    ({"OMP_NUM_THREADS": "64"}, "more threads than the 16 usable"),
    ({"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "8"}, "different sizes"),
    ({"MKL_NUM_THREADS": "four"}, "not a positive integer"),
    ({"OMP_WAIT_POLICY": "PASSIVE"}, "sleep between parallel regions"),
])
def test_openmp_and_mkl_variables(env, expected):
    f = by_id(findings(context([], host_facts=host(env=env))), "host.thread_env")
    if expected is None:
        assert f.severity == "ok"
    else:
        assert f.severity == "warn" and expected in f.cause and f.fix


def test_request_defaults_match_segbench_run():
    from segbench.cli.run import run
    from segbench.families.registry import default_model

    defaults = {p.name: p.default for p in run.params}
    assert DoctorRequest().workload == defaults["workloads"][0]
    assert DoctorRequest().model == default_model([DoctorRequest().workload])

"""python -m segbench.maintenance {footprints,calibrate,fit,loo,tables,ratios} ..."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segbench.maintenance",
                                     description="Regenerate segbench's profiles (each to the --out path given).")
    sub = parser.add_subparsers(dest="tool", required=True)
    fp = sub.add_parser("footprints", help="count every model on the meta device (footprints.yaml)")
    fp.add_argument("--out", type=Path, help="file to write")
    fp.add_argument("--model", action="append", help="only these models (repeatable)")
    fp.add_argument("--show", metavar="MODEL", help="print one model's counts instead")
    cal = sub.add_parser("calibrate", help="measure the calibration points on this CPU (calibration.yaml)")
    cal.add_argument("--out", type=Path, help="file to write")
    cal.add_argument("--rounds", type=int, default=2, help="measure every point this many times (default 2)")
    cal.add_argument("--point", help=argparse.SUPPRESS)  # one point, in a fresh process, as JSON
    cal.add_argument("--fold", nargs="+", metavar="RESULTS",
                     help="fold these results files (the GPU reference kit's) into the reference-runs profile at --out")
    fit = sub.add_parser("fit", help="refit the performance model and recompute leave-one-out (perfmodel_fit.yaml)")
    fit.add_argument("--out", type=Path, required=True, help="file to write")
    fit.add_argument("--loo", action="store_true", help="also print the leave-one-out table")
    loo = sub.add_parser("loo", help="print the leave-one-out table of the fit in use")
    loo.add_argument("--fresh", action="store_true", help="recompute it now instead of reading the cache")
    sub.add_parser("tables", help="print the README's advisor tables as Markdown")
    rat = sub.add_parser("ratios", help="execution ratios from run/tune records (execution_ratios.yaml)")
    rat.add_argument("records", nargs="+", help="results files of segbench tune or run --compile/--backend")
    rat.add_argument("--out", type=Path, required=True, help="file to write")
    args = parser.parse_args(argv)

    if args.tool == "footprints":
        from segbench.maintenance import footprints

        if args.show:
            footprints.show(args.show)
            return 0
        if args.out is None:
            parser.error("footprints: --out FILE (or --show MODEL) is required")
        print(f"wrote {footprints.write_cache(args.out, args.model)}")
    elif args.tool == "calibrate":
        from segbench.maintenance import calibrate

        if args.point:
            print(json.dumps(calibrate.measure_point(args.point)))
            return 0
        if args.out is None:
            parser.error("calibrate: --out FILE is required")
        if args.fold:
            calibrate.fold(args.fold, args.out)
            return 0
        print(f"wrote {calibrate.write(args.out, rounds=max(1, args.rounds))}")
    elif args.tool == "fit":
        from segbench.maintenance.fit import print_loo, write_fit

        result = write_fit(args.out)
        if args.loo:
            print_loo(result.loo, result.params)
    elif args.tool == "loo":
        from segbench.maintenance.fit import loo

        loo(fresh=args.fresh)
    elif args.tool == "tables":
        from segbench.maintenance.tables import print_tables

        print_tables()
    elif args.tool == "ratios":
        from segbench.maintenance.ratios import write

        print(f"wrote {write(args.records, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
